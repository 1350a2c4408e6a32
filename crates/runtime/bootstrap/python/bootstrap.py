# Eddy's Python bootstrap: loads the function's handler and runs the AWS Lambda
# Runtime API client loop (next -> handler -> response/error) against the
# listener named by AWS_LAMBDA_RUNTIME_API. Standard library only, Python 3.9+.

import decimal
import http.client
import importlib
import json
import logging
import os
import signal
import sys
import time
import traceback

API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
THIS_FILE = os.path.abspath(__file__)
IMPORTLIB_DIR = os.path.dirname(importlib.__file__)

# Request id of the invocation in progress; read by the log formatter.
_current_request_id = ""


class FaultError(Exception):
    """A runtime-level failure reported with a fixed AWS error type."""

    def __init__(self, error_type, message, stack_trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


# ---------------------------------------------------------------- HTTP client


class RuntimeClient:
    """One keep-alive connection to the Runtime API, reopened when it drops."""

    def __init__(self, address):
        # timeout=None: the next-invocation request blocks until there is work.
        self.conn = http.client.HTTPConnection(address, timeout=None)

    def _request(self, method, path, body=None, headers=None):
        headers = headers or {}
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                # Always drain the body so the connection can be reused.
                data = resp.read()
                return resp, data
            except (OSError, http.client.HTTPException):
                # A stale keep-alive socket fails on first use; retry once on
                # a fresh connection before giving up.
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def next_invocation(self):
        return self._request("GET", API_PREFIX + "/invocation/next")

    def post_response(self, request_id, payload):
        resp, _ = self._request(
            "POST",
            "%s/invocation/%s/response" % (API_PREFIX, request_id),
            payload,
            {"Content-Type": "application/json"},
        )
        return resp.status

    def post_error(self, request_id, error):
        resp, _ = self._request(
            "POST",
            "%s/invocation/%s/error" % (API_PREFIX, request_id),
            json.dumps(error).encode("utf-8"),
            {"Content-Type": "application/json", ERROR_TYPE_HEADER: error["errorType"]},
        )
        return resp.status

    def post_init_error(self, error):
        resp, _ = self._request(
            "POST",
            API_PREFIX + "/init/error",
            json.dumps(error).encode("utf-8"),
            {"Content-Type": "application/json", ERROR_TYPE_HEADER: error["errorType"]},
        )
        return resp.status


# -------------------------------------------------------------------- logging


class LambdaFormatter(logging.Formatter):
    """Formats records the way Lambda's text log format does."""

    converter = time.gmtime

    def __init__(self):
        super().__init__(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )

    def format(self, record):
        record.aws_request_id = _current_request_id
        return super().format(record)


class StdoutHandler(logging.Handler):
    # Looks sys.stdout up on every record so a later replacement is honoured.
    def emit(self, record):
        try:
            sys.stdout.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


_LOG_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "CRITICAL": logging.CRITICAL,
}


def setup_io():
    # Pipes are block-buffered by default; the server should see each line
    # as soon as it is printed.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass
    handler = StdoutHandler()
    handler.setFormatter(LambdaFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").strip().upper()
    root.setLevel(_LOG_LEVELS.get(level, logging.INFO))


def log_error(error):
    """Print an error report in the shape Lambda writes to the function log."""
    head = "[ERROR] " + error["errorType"]
    if error["errorMessage"]:
        head += ": " + error["errorMessage"]
    lines = [head]
    trace = error.get("stackTrace")
    if trace:
        lines.append("Traceback (most recent call last):")
        for entry in trace:
            lines.extend(entry.splitlines())
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def flush_std_streams():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


# --------------------------------------------------------------------- errors


def make_error(error_type, message, stack_trace, request_id=None):
    error = {
        "errorMessage": message,
        "errorType": error_type,
        "stackTrace": stack_trace,
    }
    if request_id is not None:
        error["requestId"] = request_id
    return error


def error_from_exception(exc, request_id=None):
    if isinstance(exc, FaultError):
        return make_error(exc.error_type, exc.message, exc.stack_trace, request_id)
    frames = traceback.extract_tb(exc.__traceback__)
    # Drop the bootstrap's and the import machinery's frames so the trace
    # starts in user code.
    start = 0
    while start < len(frames) and (
        frames[start].filename == THIS_FILE
        or frames[start].filename.startswith("<frozen importlib")
        or os.path.dirname(frames[start].filename) == IMPORTLIB_DIR
    ):
        start += 1
    stack = traceback.format_list(frames[start:])
    return make_error(type(exc).__name__, str(exc), stack, request_id)


# ----------------------------------------------------------------------- init


def setup_module_path(task_root):
    script_dir = os.path.dirname(THIS_FILE)
    if sys.path and os.path.abspath(sys.path[0] or ".") == script_dir:
        # The bootstrap's own directory must not shadow user modules.
        del sys.path[0]
    sys.path.insert(0, task_root)
    # Runtime-provided libraries come right after the function's own code, as
    # on Lambda: a copy packaged with the function wins, and the provided SDK
    # wins over whatever the host interpreter happens to have installed.
    at = 1
    for lib in os.environ.get("EDDY_RUNTIME_LIBS", "").split(os.pathsep):
        if lib and lib not in sys.path:
            sys.path.insert(at, lib)
            at += 1


def load_handler(handler_name):
    try:
        module_name, function_name = handler_name.rsplit(".", 1)
    except ValueError as e:
        raise FaultError(
            "Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler_name, e)
        )

    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FaultError(
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module %s as a handler module" % module_name,
        )
    try:
        # "src/app" names module src.app, as in Lambda.
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as e:
        raise FaultError(
            "Runtime.ImportModuleError",
            "Unable to import module '%s': %s" % (module_name, e),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, (e.text or "").rstrip("\n"))]
        raise FaultError(
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module '%s': %s" % (module_name, e),
            trace,
        )

    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultError(
            "Runtime.HandlerNotFound",
            "Handler '%s' missing on module '%s'" % (function_name, module_name),
        )


# -------------------------------------------------------------------- context


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data=None):
        data = data or {}
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id,
            self.cognito_identity_pool_id,
        )


class Client:
    __slots__ = (
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    )

    def __init__(self, data):
        for name in self.__slots__:
            setattr(self, name, data.get(name))


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, data):
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = data.get("custom")
        self.env = data.get("env")


def _parse_json_header(value, what):
    try:
        return json.loads(value)
    except ValueError as e:
        raise FaultError(
            "Runtime.LambdaContextUnmarshalError",
            "Unable to parse %s JSON: %s" % (what, e),
        )


class LambdaContext:
    # Values that never change for this process are class attributes, so
    # building a context per invocation stays cheap.
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
    log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
    log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
    try:
        memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    except ValueError:
        memory_limit_in_mb = None

    def __init__(self, request_id, deadline_ms, invoked_function_arn, identity, client_context):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self._deadline_ms = deadline_ms
        self.identity = CognitoIdentity(identity if isinstance(identity, dict) else None)
        self.client_context = (
            ClientContext(client_context) if isinstance(client_context, dict) else None
        )

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=%s,identity=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
            )
        )


# ----------------------------------------------------------------------- loop


def _json_default(value):
    # boto3's DynamoDB layer returns Decimal; Lambda serialises it as a number.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def marshal(result):
    try:
        return json.dumps(result, default=_json_default).encode("utf-8")
    except (TypeError, ValueError, OverflowError, RecursionError) as e:
        raise FaultError("Runtime.MarshalError", "Unable to marshal response: %s" % e)


def handle_invocation(client, handler, resp, body):
    global _current_request_id
    request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id", "")
    _current_request_id = request_id

    trace_id = resp.getheader("Lambda-Runtime-Trace-Id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)

    error = None
    try:
        client_context = resp.getheader("Lambda-Runtime-Client-Context")
        identity = resp.getheader("Lambda-Runtime-Cognito-Identity")
        context = LambdaContext(
            request_id,
            int(resp.getheader("Lambda-Runtime-Deadline-Ms") or 0),
            resp.getheader("Lambda-Runtime-Invoked-Function-Arn"),
            _parse_json_header(identity, "Cognito Identity") if identity else None,
            _parse_json_header(client_context, "Client Context") if client_context else None,
        )
        try:
            event = json.loads(body) if body else None
        except ValueError as e:
            raise FaultError("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
        payload = marshal(handler(event, context))
    except Exception as e:
        error = error_from_exception(e, request_id)

    # Partial lines printed without a newline belong to this invocation.
    flush_std_streams()
    if error is None:
        # A rejected response (e.g. 413) is reported to the caller by the
        # server; the environment simply moves on.
        client.post_response(request_id, payload)
    else:
        log_error(error)
        client.post_error(request_id, error)

    os.environ.pop("_X_AMZN_TRACE_ID", None)
    _current_request_id = ""


def main():
    signal.signal(signal.SIGTERM, _on_sigterm)
    setup_io()

    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        sys.stderr.write("AWS_LAMBDA_RUNTIME_API is not set\n")
        return 1
    client = RuntimeClient(address)

    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    try:
        os.chdir(task_root)
    except OSError:
        pass
    setup_module_path(task_root)

    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except Exception as e:
        error = error_from_exception(e)
        log_error(error)
        try:
            client.post_init_error(error)
        except (OSError, http.client.HTTPException) as post_failure:
            sys.stderr.write("failed to report init error: %s\n" % post_failure)
        return 1

    while True:
        try:
            resp, body = client.next_invocation()
        except (OSError, http.client.HTTPException) as e:
            sys.stderr.write("failed to fetch next invocation: %s\n" % e)
            return 1
        if resp.status != 200:
            sys.stderr.write(
                "unexpected status %d fetching next invocation: %r\n" % (resp.status, body[:200])
            )
            return 1
        try:
            handle_invocation(client, handler, resp, body)
        except (OSError, http.client.HTTPException) as e:
            sys.stderr.write("failed to report invocation result: %s\n" % e)
            return 1


def _on_sigterm(signum, frame):
    # The server stops idle environments with SIGTERM; that is a clean exit.
    flush_std_streams()
    os._exit(0)


if __name__ == "__main__":
    code = main()
    flush_std_streams()
    sys.exit(code)
