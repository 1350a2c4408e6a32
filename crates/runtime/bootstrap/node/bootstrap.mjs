// Eddy's Node.js bootstrap: loads the function's handler and runs the AWS
// Lambda Runtime API client loop (next -> handler -> response/error) against
// the listener named by AWS_LAMBDA_RUNTIME_API. Built-in modules only, Node 18+.

import fs from 'node:fs';
import http from 'node:http';
import Module from 'node:module';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import util from 'node:util';

const API_PREFIX = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';

// Fixed for the life of the process, so read once.
const FUNCTION_NAME = process.env.AWS_LAMBDA_FUNCTION_NAME;
const FUNCTION_VERSION = process.env.AWS_LAMBDA_FUNCTION_VERSION;
const MEMORY_SIZE = process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE;
const LOG_GROUP = process.env.AWS_LAMBDA_LOG_GROUP_NAME;
const LOG_STREAM = process.env.AWS_LAMBDA_LOG_STREAM_NAME;

// Lambda prints "undefined" as the request id for lines logged during init.
let currentRequestId;
// The invocation in progress, if any; the process-level listeners need it.
let current = null;
let phase = 'init';
let exiting = false;

class RuntimeError extends Error {
  constructor(type, message, cause, file) {
    super(message, cause === undefined ? undefined : { cause });
    // Non-enumerable like a built-in error's name, so log lines stay clean.
    Object.defineProperty(this, 'name', { value: type, configurable: true, writable: true });
    if (file !== undefined) Object.defineProperty(this, 'file', { value: file });
  }
}

// ---------------------------------------------------------------- HTTP client

const [API_HOST, API_PORT] = (() => {
  const address = process.env.AWS_LAMBDA_RUNTIME_API || '';
  const colon = address.lastIndexOf(':');
  if (colon < 0) return [address, 80];
  return [address.slice(0, colon).replace(/^\[|\]$/g, ''), Number(address.slice(colon + 1))];
})();

// One keep-alive socket: every warm invocation reuses the same connection.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(method, urlPath, body, headers, retried = false) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: API_HOST, port: API_PORT, method, path: urlPath, headers, agent },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      // A pooled socket the server already closed fails on first use;
      // one retry on a fresh connection covers that race.
      if (!retried && req.reusedSocket) {
        send(method, urlPath, body, headers, true).then(resolve, reject);
      } else {
        reject(err);
      }
    });
    req.end(body);
  });
}

function postJson(urlPath, payload, extraHeaders) {
  const body = Buffer.from(payload, 'utf8');
  return send('POST', urlPath, body, {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
    ...extraHeaders,
  });
}

function postError(urlPath, errorBody) {
  return postJson(urlPath, JSON.stringify(errorBody), {
    [ERROR_TYPE_HEADER]: errorBody.errorType,
  });
}

// -------------------------------------------------------------------- logging

function patchConsole() {
  // Same line shape as Lambda's Node runtime: time, request id, level, text.
  const writer = (stream, level) =>
    function (...args) {
      stream.write(
        `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}\n`,
      );
    };
  console.log = writer(process.stdout, 'INFO');
  console.info = writer(process.stdout, 'INFO');
  console.debug = writer(process.stdout, 'DEBUG');
  console.warn = writer(process.stderr, 'WARN');
  console.error = writer(process.stderr, 'ERROR');
  console.trace = writer(process.stderr, 'TRACE');
}

function isErrorLike(value) {
  return (
    util.types.isNativeError(value) ||
    (value !== null &&
      typeof value === 'object' &&
      typeof value.name === 'string' &&
      typeof value.message === 'string' &&
      typeof value.stack === 'string')
  );
}

function formatForLog(err) {
  // Error fields are not enumerable, so spell them out for the JSON line.
  const expand = (_key, value) => {
    if (!(value instanceof Error)) return value;
    const out = { errorType: value.name, errorMessage: value.message, code: value.code, ...value };
    if (typeof value.stack === 'string') out.stack = value.stack.split('\n');
    return out;
  };
  try {
    return JSON.stringify(err, expand);
  } catch {
    return JSON.stringify(describeError(err));
  }
}

function logError(label, err) {
  process.stderr.write(
    `${new Date().toISOString()}\t${currentRequestId}\tERROR\t${label} \t${formatForLog(err)}\n`,
  );
}

// --------------------------------------------------------------------- errors

function stackLines(err) {
  if (typeof err.stack !== 'string') return [];
  const lines = err.stack.split('\n');
  // Frames start at the first "at" line; everything before it is the
  // (possibly multi-line) "Name: message" header.
  const first = lines.findIndex((line) => /^\s+at /.test(line));
  return first >= 0 ? lines.slice(first) : lines.slice(1);
}

function describeError(err) {
  try {
    if (isErrorLike(err)) {
      let stackTrace = stackLines(err);
      // CommonJS syntax errors carry the offending file and line before the
      // message; ES module ones do not, so name the file at least.
      if (err.name === 'Runtime.UserCodeSyntaxError' && err.cause && err.cause.stack) {
        const causeStack = String(err.cause.stack);
        stackTrace = causeStack.split('\n');
        if (err.file && !causeStack.includes(err.file)) stackTrace.unshift(err.file);
      }
      return { errorType: err.name, errorMessage: err.message, stackTrace };
    }
    return { errorType: typeof err, errorMessage: String(err), stackTrace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      stackTrace: [],
    };
  }
}

function safeString(value) {
  try {
    return String(value);
  } catch {
    return util.inspect(value);
  }
}

// ----------------------------------------------------------------------- init

function setupModulePaths() {
  const libs = (process.env.EDDY_RUNTIME_LIBS || '').split(path.delimiter).filter(Boolean);
  if (libs.length === 0) return;
  // NODE_PATH is consulted after every node_modules directory above the
  // importing file, so a library packaged with the function still wins.
  // It applies to require() only; ESM bare specifiers ignore NODE_PATH.
  const existing = (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean);
  process.env.NODE_PATH = [...existing, ...libs].join(path.delimiter);
  Module._initPaths();
}

function findModuleFile(dir, name) {
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const file = path.join(dir, name + ext);
    try {
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // Not there; try the next extension.
    }
  }
  return null;
}

function resolvePath(object, dotted) {
  let value = object;
  for (const key of dotted.split('.')) {
    if (value === null || value === undefined) return undefined;
    value = value[key];
  }
  return value;
}

async function loadHandler(taskRoot) {
  const fullHandler = process.env._HANDLER || '';
  if (fullHandler.includes('..')) {
    throw new RuntimeError(
      'Runtime.MalformedHandlerName',
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  // "src/app.handler": directory "src/", module "app", export path "handler".
  const base = path.basename(fullHandler);
  const moduleRoot = fullHandler.slice(0, fullHandler.length - base.length);
  const match = /^([^.]*)\.(.*)$/.exec(base);
  if (!match || !match[1] || !match[2]) {
    throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  }
  const [, moduleName, exportPath] = match;

  const file = findModuleFile(path.resolve(taskRoot, moduleRoot), moduleName);
  if (!file) {
    throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  }

  let namespace;
  try {
    // import() loads CommonJS and ES modules alike; .js follows package.json "type".
    namespace = await import(pathToFileURL(file).href);
  } catch (err) {
    if (err instanceof SyntaxError) {
      throw new RuntimeError('Runtime.UserCodeSyntaxError', safeString(err), err, file);
    }
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new RuntimeError('Runtime.ImportModuleError', safeString(err), err);
    }
    throw err;
  }

  let handler = resolvePath(namespace, exportPath);
  // CommonJS exports the lexer could not name are only on the default export.
  if (handler === undefined && namespace.default != null) {
    handler = resolvePath(namespace.default, exportPath);
  }
  if (handler === undefined) {
    throw new RuntimeError('Runtime.HandlerNotFound', `${fullHandler} is undefined or not exported`);
  }
  if (typeof handler !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${fullHandler} is not a function`);
  }
  return handler;
}

// ----------------------------------------------------------------- invocation

function parseJsonHeader(value) {
  if (value === undefined || value === '') return undefined;
  return JSON.parse(value);
}

// What every invocation starts with: its id and deadline, the request id for log lines
// and the trace header for the SDK.
function begin(headers) {
  const requestId = headers['lambda-runtime-aws-request-id'];
  const deadline = Number(headers['lambda-runtime-deadline-ms']) || 0;
  currentRequestId = requestId;
  const traceId = headers['lambda-runtime-trace-id'];
  if (traceId) process.env._X_AMZN_TRACE_ID = traceId;
  else delete process.env._X_AMZN_TRACE_ID;
  return { requestId, deadline };
}

function makeContext(headers, requestId, deadline) {
  return {
    functionName: FUNCTION_NAME,
    functionVersion: FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: LOG_GROUP,
    logStreamName: LOG_STREAM,
    identity: undefined,
    clientContext: undefined,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

// The headers that carry JSON; parsing them can throw, inside the invocation.
function fillContext(context, headers) {
  context.identity = parseJsonHeader(headers['lambda-runtime-cognito-identity']);
  context.clientContext = parseJsonHeader(headers['lambda-runtime-client-context']);
}

// ------------------------------------------------------ response streaming

// What `awslambda.streamifyResponse` marks a handler with, as Lambda's Node runtime does.
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const PRELUDE_TYPE = 'application/vnd.awslambda.http-integration-response';

globalThis.awslambda = {
  streamifyResponse(handler) {
    handler[STREAMING] = 'response';
    return handler;
  },
  HttpResponseStream: class HttpResponseStream {
    // Status, headers and cookies first, then eight zero bytes, then the body.
    static from(stream, prelude) {
      stream.setContentType(PRELUDE_TYPE);
      stream.write(JSON.stringify(prelude || {}));
      stream.write(Buffer.alloc(8));
      return stream;
    }
  },
};

// The writable stream a streaming handler writes its response to: one chunked POST to
// the runtime API, opened on the first write so the content type can still be set.
function responseStream(requestId) {
  let req = null;
  let contentType = 'application/octet-stream';
  let resolveAnswer;
  let rejectAnswer;
  const answer = new Promise((resolve, reject) => {
    resolveAnswer = resolve;
    rejectAnswer = reject;
  });
  answer.catch(() => {});
  const open = () => {
    if (req) return req;
    req = http.request(
      {
        host: API_HOST,
        port: API_PORT,
        method: 'POST',
        path: `${API_PREFIX}/invocation/${requestId}/response`,
        agent,
        headers: {
          'Content-Type': contentType,
          'Lambda-Runtime-Function-Response-Mode': 'streaming',
          'Transfer-Encoding': 'chunked',
          Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolveAnswer(res.statusCode));
        res.on('error', rejectAnswer);
      },
    );
    req.on('error', rejectAnswer);
    return req;
  };
  const stream = new Writable({
    write(chunk, encoding, callback) {
      open().write(chunk, encoding, callback);
    },
    final(callback) {
      open().end(callback);
    },
  });
  stream.setContentType = (type) => {
    contentType = type;
  };
  stream.started = () => req !== null;
  // Ends the stream with the function's error in the trailers.
  stream.fail = (errorBody) => {
    const r = open();
    r.addTrailers({
      'Lambda-Runtime-Function-Error-Type': errorBody.errorType,
      'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(errorBody)).toString('base64'),
    });
    r.end();
  };
  stream.answer = answer;
  return stream;
}

// Runs one invocation of a streaming handler, which answers through its stream.
async function invokeStreaming(handler, next) {
  const headers = next.headers;
  const { requestId, deadline } = begin(headers);
  current = { requestId, settled: false, onEmptyLoop: null };
  const stream = responseStream(requestId);
  try {
    const context = makeContext(headers, requestId, deadline);
    fillContext(context, headers);
    const event = next.body.length ? JSON.parse(next.body.toString('utf8')) : null;
    await handler(event, stream, context);
    if (!stream.writableEnded) stream.end();
    await stream.answer;
  } catch (err) {
    logError('Invoke Error', err);
    const body = { ...describeError(err), requestId };
    if (stream.started()) {
      stream.fail(body);
      await stream.answer.catch(() => {});
    } else {
      await postError(`${API_PREFIX}/invocation/${requestId}/error`, body);
    }
  }
  current.settled = true;
}

// Runs one invocation; resolves with { ok, result } or { ok: false, error }.
function invoke(handler, next) {
  const headers = next.headers;
  const { requestId, deadline } = begin(headers);

  return new Promise((resolve) => {
    const invocation = { requestId, settled: false, onEmptyLoop: null };
    current = invocation;

    const settle = (outcome) => {
      if (invocation.settled || exiting) return;
      invocation.settled = true;
      invocation.onEmptyLoop = null;
      resolve(outcome);
    };
    const succeed = (result) => settle({ ok: true, result });
    const fail = (error) => settle({ ok: false, error });

    // Only the first of callback/done/succeed/fail/promise counts.
    let finished = false;
    const once =
      (fn) =>
      (...args) => {
        if (finished) return;
        finished = true;
        fn(...args);
      };

    const context = makeContext(headers, requestId, deadline);
    const done = once((err, result) => (err !== undefined && err !== null ? fail(err) : succeed(result)));
    context.done = done;
    context.succeed = (result) => done(null, result);
    context.fail = (err) => done(err === undefined || err === null ? 'handled' : err, null);

    const callback = once((err, result) => {
      if (err !== undefined && err !== null) fail(err);
      else if (!context.callbackWaitsForEmptyEventLoop) succeed(result);
      // As in Lambda, the response waits until the event loop drains.
      else invocation.onEmptyLoop = () => succeed(result);
    });

    try {
      fillContext(context, headers);
      const event = next.body.length ? JSON.parse(next.body.toString('utf8')) : null;
      const returned = handler(event, context, callback);
      if (returned !== null && typeof returned === 'object' && typeof returned.then === 'function') {
        // A promise that never settles once nothing else is pending would
        // hang forever; Lambda fails the invocation instead.
        invocation.onEmptyLoop = () =>
          fail(new RuntimeError('Runtime.NodeJsExit', 'Error: Runtime exited without providing a reason'));
        Promise.resolve(returned).then(
          (result) => done(null, result),
          (err) => done(err === undefined || err === null ? 'handled' : err, null),
        );
      } else if (handler.length < 3) {
        done(null, returned);
      } else if (!finished) {
        // Callback never called and nothing left to run: Lambda answers null.
        invocation.onEmptyLoop = () => succeed(null);
      }
    } catch (err) {
      done(err === undefined || err === null ? 'handled' : err, null);
    }
  });
}

async function report(requestId, outcome) {
  const base = `${API_PREFIX}/invocation/${requestId}`;
  if (outcome.ok) {
    let payload;
    try {
      payload = JSON.stringify(outcome.result);
    } catch (err) {
      logError('Invoke Error', err);
      outcome = { ok: false, error: new Error('Unable to stringify response body') };
    }
    if (outcome.ok) {
      // A non-2xx answer (e.g. 413) is reported to the caller by the server.
      await postJson(`${base}/response`, payload === undefined ? 'null' : payload);
      return;
    }
  }
  logError('Invoke Error', outcome.error);
  await postError(`${base}/error`, { ...describeError(outcome.error), requestId });
}

// ---------------------------------------------------------- process listeners

function fatal(label, error, exitCode) {
  logError(label, error);
  if (exiting) return;
  exiting = true;
  const exit = () => process.exit(exitCode);
  if (phase === 'init') {
    postError(`${API_PREFIX}/init/error`, describeError(error)).then(exit, exit);
  } else if (current && !current.settled) {
    current.settled = true;
    const body = { ...describeError(error), requestId: current.requestId };
    postError(`${API_PREFIX}/invocation/${current.requestId}/error`, body).then(exit, exit);
  } else {
    exit();
  }
}

function installListeners() {
  process.on('uncaughtException', (err) => fatal('Uncaught Exception', err, 129));
  process.on('unhandledRejection', (reason) => {
    const error = new RuntimeError('Runtime.UnhandledPromiseRejection', safeString(reason));
    fatal('Unhandled Promise Rejection', error, 128);
  });
  // Fires when the event loop drains; callback handlers complete here.
  process.on('beforeExit', () => {
    const pending = current && current.onEmptyLoop;
    if (pending) {
      current.onEmptyLoop = null;
      pending();
    }
  });
  // The server stops idle environments with SIGTERM; that is a clean exit.
  process.on('SIGTERM', () => process.exit(0));
}

// ----------------------------------------------------------------------- main

async function main() {
  installListeners();
  patchConsole();

  if (!process.env.AWS_LAMBDA_RUNTIME_API) {
    process.stderr.write('AWS_LAMBDA_RUNTIME_API is not set\n');
    process.exit(1);
  }

  const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  try {
    process.chdir(taskRoot);
  } catch {
    // Keep the inherited working directory.
  }
  setupModulePaths();

  let handler;
  try {
    handler = await loadHandler(taskRoot);
  } catch (err) {
    logError('Uncaught Exception', err);
    exiting = true;
    try {
      await postError(`${API_PREFIX}/init/error`, describeError(err));
    } catch (postErr) {
      process.stderr.write(`failed to report init error: ${postErr}\n`);
    }
    process.exit(1);
  }
  phase = 'invoke';

  for (;;) {
    let next;
    try {
      next = await send('GET', `${API_PREFIX}/invocation/next`, undefined, {});
    } catch (err) {
      process.stderr.write(`failed to fetch next invocation: ${err}\n`);
      process.exit(1);
    }
    if (next.status !== 200) {
      process.stderr.write(`unexpected status ${next.status} fetching next invocation\n`);
      process.exit(1);
    }
    try {
      if (handler[STREAMING] === 'response') {
        await invokeStreaming(handler, next);
      } else {
        const outcome = await invoke(handler, next);
        await report(current.requestId, outcome);
      }
    } catch (err) {
      process.stderr.write(`failed to report invocation result: ${err}\n`);
      process.exit(1);
    }
    current = null;
    delete process.env._X_AMZN_TRACE_ID;
  }
}

main();
