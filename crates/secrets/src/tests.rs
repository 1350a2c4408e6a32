//! The operations against an in-memory store, a manual clock and a rotation function that
//! calls back into the API as a real one would: idempotency, deletion windows, version
//! limits, encryption at rest and rotation, without sleeping through real time.

use crate::{Rotator, Secrets};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use store::{ResourceStore, SqliteStore};
use wire::time::ManualClock;
use wire::{ApiRequest, BoxFuture, Service};

/// 2026-03-01T00:00:00Z
const T0: i64 = 1_772_323_200_000;
const DAY: i64 = 86_400_000;
const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "HxwdHhscGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwI=";
const FUNCTION: &str = "arn:aws:lambda:us-east-1:000000000000:function:rotator";

/// A rotation function: createSecret puts a new value into the pending version,
/// finishSecret moves AWSCURRENT to it, as AWS's templates do. It can be told to fail a
/// step.
#[derive(Default)]
struct FakeFunction {
    secrets: OnceLock<Secrets>,
    steps: Mutex<Vec<String>>,
    fail_at: Mutex<Option<String>>,
}

impl FakeFunction {
    async fn step(&self, event: Value) -> Result<(), String> {
        let step = event["Step"].as_str().unwrap_or_default().to_string();
        self.steps.lock().unwrap().push(step.clone());
        if self.fail_at.lock().unwrap().as_deref() == Some(step.as_str()) {
            return Err(format!("Unhandled ({step} failed)"));
        }
        let s = self.secrets.get().ok_or("no service")?;
        let arn = event["SecretId"].as_str().unwrap_or_default();
        let token = event["ClientRequestToken"].as_str().unwrap_or_default();
        let meta = raw(s, "DescribeSecret", json!({ "SecretId": arn })).await?;
        if meta["RotationEnabled"] != json!(true) {
            return Err("rotation is not enabled".into());
        }
        let stages = meta["VersionIdsToStages"][token].clone();
        if !stages
            .as_array()
            .is_some_and(|a| a.contains(&json!("AWSPENDING")))
        {
            return Err(format!("version {token} is not AWSPENDING: {stages}"));
        }
        match step.as_str() {
            "createSecret" => {
                let current = raw(
                    s,
                    "GetSecretValue",
                    json!({ "SecretId": arn, "VersionStage": "AWSCURRENT" }),
                )
                .await?;
                let pending = raw(
                    s,
                    "GetSecretValue",
                    json!({ "SecretId": arn, "VersionId": token, "VersionStage": "AWSPENDING" }),
                )
                .await;
                if pending.is_err() {
                    let next = format!(
                        "{}-rotated",
                        current["SecretString"].as_str().unwrap_or_default()
                    );
                    raw(
                        s,
                        "PutSecretValue",
                        json!({ "SecretId": arn, "ClientRequestToken": token,
                                "SecretString": next, "VersionStages": ["AWSPENDING"] }),
                    )
                    .await?;
                }
            }
            "finishSecret" => {
                let current = meta["VersionIdsToStages"]
                    .as_object()
                    .and_then(|m| {
                        m.iter().find(|(_, st)| {
                            st.as_array()
                                .is_some_and(|a| a.contains(&json!("AWSCURRENT")))
                        })
                    })
                    .map(|(id, _)| id.clone());
                if current.as_deref() != Some(token) {
                    raw(
                        s,
                        "UpdateSecretVersionStage",
                        json!({ "SecretId": arn, "VersionStage": "AWSCURRENT",
                                "MoveToVersionId": token, "RemoveFromVersionId": current }),
                    )
                    .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

struct FakeRotator(Arc<FakeFunction>);

impl Rotator for FakeRotator {
    fn invoke<'a>(
        &'a self,
        function_arn: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            assert_eq!(function_arn, FUNCTION);
            let event: Value = serde_json::from_slice(&payload).map_err(|e| e.to_string())?;
            self.0.step(event).await
        })
    }

    fn can_invoke(&self, function_arn: &str) -> bool {
        function_arn == FUNCTION
    }
}

fn request(op: &str, body: Value) -> ApiRequest {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-amz-target",
        format!("secretsmanager.{op}").parse().unwrap(),
    );
    ApiRequest {
        method: http::Method::POST,
        path: "/".into(),
        query: vec![],
        raw_query: String::new(),
        headers,
        body: body.to_string().into(),
        region: "us-east-1".into(),
        request_id: "r".into(),
        stream: None,
        caller: Arc::new(wire::identity::Principal::Root),
    }
}

/// Calls `op`: the answer, or `CODE: message`.
async fn raw(s: &Secrets, op: &str, body: Value) -> Result<Value, String> {
    let resp = s.handle(request(op, body)).await;
    let v: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    if resp.status() == 200 {
        Ok(v)
    } else {
        Err(format!(
            "{}: {}",
            v["__type"].as_str().unwrap_or_default(),
            v["message"].as_str().unwrap_or_default()
        ))
    }
}

struct Fixture {
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    function: Arc<FakeFunction>,
    secrets: Secrets,
}

impl Fixture {
    fn new() -> Self {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let clock = Arc::new(ManualClock::new(T0));
        let function = Arc::new(FakeFunction::default());
        let secrets = Self::open(&store, &clock, &function, KEY_A);
        Self {
            store,
            clock,
            function,
            secrets,
        }
    }

    fn open(
        store: &Arc<SqliteStore>,
        clock: &Arc<ManualClock>,
        function: &Arc<FakeFunction>,
        key: &str,
    ) -> Secrets {
        let s = Secrets::open(
            store.clone(),
            Arc::new(crypto::MasterKey::from_base64(key).unwrap()),
            clock.clone(),
            Some(Arc::new(FakeRotator(function.clone()))),
        )
        .unwrap();
        let _ = function.secrets.set(s.clone());
        s
    }

    /// A restart on the same store with the master key `key`.
    fn reopen(&self, key: &str) -> Secrets {
        Self::open(
            &self.store,
            &self.clock,
            &Arc::new(FakeFunction::default()),
            key,
        )
    }

    async fn ok(&self, op: &str, body: Value) -> Value {
        match raw(&self.secrets, op, body).await {
            Ok(v) => v,
            Err(e) => panic!("{op} failed: {e}"),
        }
    }

    /// The error code of a call that must fail.
    async fn code(&self, op: &str, body: Value) -> String {
        match raw(&self.secrets, op, body).await {
            Ok(v) => panic!("{op} succeeded: {v}"),
            Err(e) => e.split(':').next().unwrap_or_default().to_string(),
        }
    }

    async fn value(&self, id: &str) -> String {
        let v = self.ok("GetSecretValue", json!({ "SecretId": id })).await;
        v["SecretString"].as_str().unwrap_or_default().to_string()
    }

    async fn stages(&self, id: &str) -> Value {
        self.ok("DescribeSecret", json!({ "SecretId": id })).await["VersionIdsToStages"].clone()
    }

    fn advance(&self, ms: i64) {
        self.clock.advance(ms);
    }
}

fn token(n: u32) -> String {
    format!("{n:08}-0000-4000-8000-000000000000")
}

/// Waits (without sleeping through wall-clock time) for the background rotation to
/// invoke `n` steps and settle.
async fn wait_steps(f: &Fixture, n: usize) {
    for _ in 0..10_000 {
        if f.function.steps.lock().unwrap().len() >= n {
            // Let the task record the outcome.
            for _ in 0..100 {
                tokio::task::yield_now().await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("the rotation never ran {n} steps");
}

#[tokio::test]
async fn values_versions_and_stages() {
    let f = Fixture::new();
    let c = f
        .ok(
            "CreateSecret",
            json!({ "Name": "shop/api-key", "SecretString": "v1", "ClientRequestToken": token(1),
                    "Description": "Shop key", "Tags": [{"Key": "team", "Value": "shop"}] }),
        )
        .await;
    let arn = c["ARN"].as_str().unwrap().to_string();
    assert!(arn.starts_with("arn:aws:secretsmanager:us-east-1:000000000000:secret:shop/api-key-"));
    assert_eq!(
        arn.len() - arn.rfind('-').unwrap(),
        7,
        "a six-character suffix"
    );
    assert_eq!(c["VersionId"], json!(token(1)));
    // By name, by full ARN, by partial ARN.
    assert_eq!(f.value("shop/api-key").await, "v1");
    assert_eq!(f.value(&arn).await, "v1");
    assert_eq!(
        f.value("arn:aws:secretsmanager:us-east-1:000000000000:secret:shop/api-key")
            .await,
        "v1"
    );
    let wrong_suffix = format!("{}XyZ123", &arn[..arn.len() - 6]);
    assert_eq!(
        f.code("GetSecretValue", json!({ "SecretId": wrong_suffix }))
            .await,
        "ResourceNotFoundException"
    );

    let p = f
        .ok("PutSecretValue", json!({ "SecretId": "shop/api-key", "SecretString": "v2", "ClientRequestToken": token(2) }))
        .await;
    assert_eq!(p["VersionStages"], json!(["AWSCURRENT"]));
    assert_eq!(
        f.stages("shop/api-key").await,
        json!({ token(1): ["AWSPREVIOUS"], token(2): ["AWSCURRENT"] })
    );
    let prev = f
        .ok(
            "GetSecretValue",
            json!({ "SecretId": "shop/api-key", "VersionStage": "AWSPREVIOUS" }),
        )
        .await;
    assert_eq!(prev["SecretString"], "v1");
    assert_eq!(prev["VersionId"], json!(token(1)));
    let by_id = f
        .ok("GetSecretValue", json!({ "SecretId": "shop/api-key", "VersionId": token(2), "VersionStage": "AWSCURRENT" }))
        .await;
    assert_eq!(by_id["SecretString"], "v2");
    assert_eq!(
        f.code("GetSecretValue", json!({ "SecretId": "shop/api-key", "VersionId": token(2), "VersionStage": "AWSPREVIOUS" }))
            .await,
        "InvalidRequestException"
    );
    assert_eq!(
        f.code(
            "GetSecretValue",
            json!({ "SecretId": "shop/api-key", "VersionStage": "AWSPENDING" })
        )
        .await,
        "ResourceNotFoundException"
    );

    // A custom label only; AWSCURRENT stays.
    f.ok(
        "PutSecretValue",
        json!({ "SecretId": "shop/api-key", "SecretString": "v3", "ClientRequestToken": token(3), "VersionStages": ["beta"] }),
    )
    .await;
    assert_eq!(f.value("shop/api-key").await, "v2");
    // Roll back: AWSCURRENT to the first version; AWSPREVIOUS follows.
    f.ok(
        "UpdateSecretVersionStage",
        json!({ "SecretId": "shop/api-key", "VersionStage": "AWSCURRENT", "MoveToVersionId": token(1), "RemoveFromVersionId": token(2) }),
    )
    .await;
    assert_eq!(
        f.stages("shop/api-key").await,
        json!({ token(1): ["AWSCURRENT"], token(2): ["AWSPREVIOUS"], token(3): ["beta"] })
    );
    assert_eq!(f.value("shop/api-key").await, "v1");
    assert_eq!(
        f.code(
            "UpdateSecretVersionStage",
            json!({ "SecretId": "shop/api-key", "VersionStage": "AWSCURRENT", "MoveToVersionId": token(3) })
        )
        .await,
        "InvalidParameterException"
    );

    // UpdateSecret: metadata, and a value as a new AWSCURRENT version.
    let u = f
        .ok("UpdateSecret", json!({ "SecretId": arn, "Description": "new", "SecretString": "v4", "ClientRequestToken": token(4) }))
        .await;
    assert_eq!(u["VersionId"], json!(token(4)));
    let d = f
        .ok("DescribeSecret", json!({ "SecretId": "shop/api-key" }))
        .await;
    assert_eq!(d["Description"], "new");
    assert_eq!(d["Tags"], json!([{"Key": "team", "Value": "shop"}]));
    assert_eq!(d["VersionIdsToStages"][token(4)], json!(["AWSCURRENT"]));
    assert_eq!(d["VersionIdsToStages"][token(1)], json!(["AWSPREVIOUS"]));
    assert!(
        d.get("RotationEnabled").is_none(),
        "never configured for rotation"
    );

    // Deprecated versions are listed only when asked for.
    let versions = f
        .ok(
            "ListSecretVersionIds",
            json!({ "SecretId": "shop/api-key" }),
        )
        .await;
    assert_eq!(versions["Versions"].as_array().unwrap().len(), 3);
    let all = f
        .ok(
            "ListSecretVersionIds",
            json!({ "SecretId": "shop/api-key", "IncludeDeprecated": true }),
        )
        .await;
    assert_eq!(all["Versions"].as_array().unwrap().len(), 4);
    let page = f
        .ok(
            "ListSecretVersionIds",
            json!({ "SecretId": "shop/api-key", "IncludeDeprecated": true, "MaxResults": 3 }),
        )
        .await;
    assert_eq!(page["Versions"].as_array().unwrap().len(), 3);
    let rest = f
        .ok(
            "ListSecretVersionIds",
            json!({ "SecretId": "shop/api-key", "IncludeDeprecated": true, "MaxResults": 3, "NextToken": page["NextToken"] }),
        )
        .await;
    assert_eq!(rest["Versions"].as_array().unwrap().len(), 1);
    assert!(rest.get("NextToken").is_none());
}

#[tokio::test]
async fn tokens_make_writes_idempotent() {
    let f = Fixture::new();
    let create = json!({ "Name": "db", "SecretString": "one", "ClientRequestToken": token(1) });
    let a = f.ok("CreateSecret", create.clone()).await;
    let b = f.ok("CreateSecret", create).await;
    assert_eq!(a, b, "a retried CreateSecret answers the same");
    assert_eq!(
        f.code(
            "CreateSecret",
            json!({ "Name": "db", "SecretString": "two", "ClientRequestToken": token(1) })
        )
        .await,
        "ResourceExistsException"
    );
    assert_eq!(
        f.code(
            "CreateSecret",
            json!({ "Name": "db", "SecretString": "one", "ClientRequestToken": token(9) })
        )
        .await,
        "ResourceExistsException"
    );
    let put = json!({ "SecretId": "db", "SecretString": "two", "ClientRequestToken": token(2) });
    f.ok("PutSecretValue", put.clone()).await;
    f.ok("PutSecretValue", put).await;
    assert_eq!(
        f.stages("db").await,
        json!({ token(1): ["AWSPREVIOUS"], token(2): ["AWSCURRENT"] }),
        "the retry added no version"
    );
    assert_eq!(
        f.code(
            "PutSecretValue",
            json!({ "SecretId": "db", "SecretString": "three", "ClientRequestToken": token(2) })
        )
        .await,
        "ResourceExistsException"
    );
    assert_eq!(
        f.code(
            "UpdateSecret",
            json!({ "SecretId": "db", "SecretString": "two", "ClientRequestToken": token(2) })
        )
        .await,
        "ResourceExistsException"
    );
}

#[tokio::test]
async fn binary_values_round_trip() {
    let f = Fixture::new();
    let bytes: Vec<u8> = (0..=255).collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    f.ok(
        "CreateSecret",
        json!({ "Name": "cert", "SecretBinary": b64 }),
    )
    .await;
    let v = f.ok("GetSecretValue", json!({ "SecretId": "cert" })).await;
    assert_eq!(v["SecretBinary"], json!(b64));
    assert!(v.get("SecretString").is_none());
    assert_eq!(
        f.code(
            "PutSecretValue",
            json!({ "SecretId": "cert", "SecretBinary": b64, "SecretString": "x" })
        )
        .await,
        "InvalidParameterException"
    );
    assert_eq!(
        f.code("PutSecretValue", json!({ "SecretId": "cert" }))
            .await,
        "InvalidParameterException"
    );
    let big = "x".repeat(65_537);
    assert_eq!(
        f.code(
            "PutSecretValue",
            json!({ "SecretId": "cert", "SecretString": big })
        )
        .await,
        "ValidationException"
    );
    f.ok(
        "PutSecretValue",
        json!({ "SecretId": "cert", "SecretString": "x".repeat(65_536) }),
    )
    .await;
}

#[tokio::test]
async fn a_secret_without_a_value() {
    let f = Fixture::new();
    let c = f.ok("CreateSecret", json!({ "Name": "empty" })).await;
    assert!(c.get("VersionId").is_none());
    assert_eq!(
        f.code("GetSecretValue", json!({ "SecretId": "empty" }))
            .await,
        "ResourceNotFoundException"
    );
    // Its first value becomes AWSCURRENT whatever labels it asks for.
    f.ok(
        "PutSecretValue",
        json!({ "SecretId": "empty", "SecretString": "x", "ClientRequestToken": token(1), "VersionStages": ["AWSPENDING"] }),
    )
    .await;
    assert_eq!(
        f.stages("empty").await,
        json!({ token(1): ["AWSPENDING", "AWSCURRENT"] })
    );
}

#[tokio::test]
async fn deletion_recovery_and_the_end_of_the_window() {
    let f = Fixture::new();
    f.ok(
        "CreateSecret",
        json!({ "Name": "old", "SecretString": "x" }),
    )
    .await;
    for (body, code) in [
        (
            json!({ "SecretId": "old", "RecoveryWindowInDays": 6 }),
            "InvalidParameterException",
        ),
        (
            json!({ "SecretId": "old", "RecoveryWindowInDays": 31 }),
            "InvalidParameterException",
        ),
        (
            json!({ "SecretId": "old", "RecoveryWindowInDays": 7, "ForceDeleteWithoutRecovery": true }),
            "InvalidParameterException",
        ),
        (json!({ "SecretId": "nope" }), "ResourceNotFoundException"),
    ] {
        assert_eq!(f.code("DeleteSecret", body).await, code);
    }
    let d = f
        .ok(
            "DeleteSecret",
            json!({ "SecretId": "old", "RecoveryWindowInDays": 7 }),
        )
        .await;
    assert_eq!(d["DeletionDate"], json!((T0 + 7 * DAY) as f64 / 1000.0));
    for op in ["GetSecretValue", "DeleteSecret"] {
        assert_eq!(
            f.code(op, json!({ "SecretId": "old" })).await,
            "InvalidRequestException"
        );
    }
    assert_eq!(
        f.code(
            "PutSecretValue",
            json!({ "SecretId": "old", "SecretString": "y" })
        )
        .await,
        "InvalidRequestException"
    );
    assert_eq!(
        f.code(
            "CreateSecret",
            json!({ "Name": "old", "SecretString": "y" })
        )
        .await,
        "InvalidRequestException"
    );
    let desc = f.ok("DescribeSecret", json!({ "SecretId": "old" })).await;
    assert_eq!(desc["DeletedDate"], json!(T0 as f64 / 1000.0));
    let listed = f.ok("ListSecrets", json!({})).await;
    assert_eq!(listed["SecretList"], json!([]));
    let planned = f
        .ok("ListSecrets", json!({ "IncludePlannedDeletion": true }))
        .await;
    assert_eq!(planned["SecretList"].as_array().unwrap().len(), 1);

    f.ok("RestoreSecret", json!({ "SecretId": "old" })).await;
    assert_eq!(f.value("old").await, "x");

    // Deleted again, and the window passes: gone, and the name is free.
    f.ok("DeleteSecret", json!({ "SecretId": "old" })).await;
    f.advance(30 * DAY - 1);
    f.ok("DescribeSecret", json!({ "SecretId": "old" })).await;
    f.advance(1);
    assert_eq!(
        f.code("DescribeSecret", json!({ "SecretId": "old" })).await,
        "ResourceNotFoundException"
    );
    assert!(f.store.resources(crate::SECRET).unwrap().is_empty());
    assert!(f.store.resources(crate::VALUE).unwrap().is_empty());
    f.ok(
        "CreateSecret",
        json!({ "Name": "old", "SecretString": "new" }),
    )
    .await;
    assert_eq!(f.value("old").await, "new");

    // Forced: at once; and forcing a secret that does not exist succeeds.
    f.ok(
        "DeleteSecret",
        json!({ "SecretId": "old", "ForceDeleteWithoutRecovery": true }),
    )
    .await;
    assert_eq!(
        f.code("DescribeSecret", json!({ "SecretId": "old" })).await,
        "ResourceNotFoundException"
    );
    f.ok(
        "DeleteSecret",
        json!({ "SecretId": "never", "ForceDeleteWithoutRecovery": true }),
    )
    .await;
}

#[tokio::test]
async fn values_are_sealed_in_the_store_and_survive_a_restart() {
    let f = Fixture::new();
    let plain = "hunter2-distinctive-9f8e7d";
    f.ok(
        "CreateSecret",
        json!({ "Name": "db/password", "SecretString": plain }),
    )
    .await;
    f.ok(
        "PutSecretValue",
        json!({ "SecretId": "db/password", "SecretString": format!("{plain}-2") }),
    )
    .await;
    for kind in [crate::SECRET, crate::VALUE] {
        for r in f.store.resources(kind).unwrap() {
            assert!(
                !r.body.contains("hunter2"),
                "{kind} record holds the plaintext"
            );
        }
    }
    // A restart with the same key reads everything back.
    let again = f.reopen(KEY_A);
    let v = raw(
        &again,
        "GetSecretValue",
        json!({ "SecretId": "db/password" }),
    )
    .await
    .unwrap();
    assert_eq!(v["SecretString"], json!(format!("{plain}-2")));
    // Another key sees the metadata but cannot open the value.
    let other = f.reopen(KEY_B);
    raw(
        &other,
        "DescribeSecret",
        json!({ "SecretId": "db/password" }),
    )
    .await
    .unwrap();
    let e = raw(
        &other,
        "GetSecretValue",
        json!({ "SecretId": "db/password" }),
    )
    .await
    .unwrap_err();
    assert!(e.starts_with("DecryptionFailure"), "{e}");
    // A sealed value moved to another version does not open either.
    let mut values = f.store.resources(crate::VALUE).unwrap();
    values.sort_by(|a, b| a.name.cmp(&b.name));
    let (a, b) = (&values[0], &values[1]);
    f.store
        .apply_resources(
            &[store::ResourceWrite::Put(store::Resource {
                body: b.body.clone(),
                ..a.clone()
            })],
            &[],
            T0,
        )
        .unwrap();
    let swapped = f.reopen(KEY_A);
    let version = raw(
        &swapped,
        "ListSecretVersionIds",
        json!({ "SecretId": "db/password" }),
    )
    .await
    .unwrap();
    let ids: Vec<&str> = version["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["VersionId"].as_str().unwrap())
        .collect();
    let e = raw(
        &swapped,
        "GetSecretValue",
        json!({ "SecretId": "db/password", "VersionId": a.name }),
    )
    .await
    .unwrap_err();
    assert!(ids.contains(&a.name.as_str()));
    assert!(e.starts_with("DecryptionFailure"), "{e}");
}

#[tokio::test]
async fn deprecated_versions_go_once_a_day_old() {
    let f = Fixture::new();
    f.ok(
        "CreateSecret",
        json!({ "Name": "busy", "SecretString": "0", "ClientRequestToken": token(0) }),
    )
    .await;
    for i in 1..100 {
        f.ok("PutSecretValue", json!({ "SecretId": "busy", "SecretString": i.to_string(), "ClientRequestToken": token(i) }))
            .await;
    }
    assert_eq!(
        f.code(
            "PutSecretValue",
            json!({ "SecretId": "busy", "SecretString": "100" })
        )
        .await,
        "LimitExceededException"
    );
    f.advance(DAY);
    f.ok(
        "PutSecretValue",
        json!({ "SecretId": "busy", "SecretString": "100", "ClientRequestToken": token(100) }),
    )
    .await;
    let all = f
        .ok(
            "ListSecretVersionIds",
            json!({ "SecretId": "busy", "IncludeDeprecated": true }),
        )
        .await;
    let ids: Vec<&str> = all["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["VersionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 100);
    assert!(
        !ids.contains(&token(0).as_str()),
        "the oldest deprecated version went"
    );
    assert_eq!(f.store.resources(crate::VALUE).unwrap().len(), 100);
    assert_eq!(f.value("busy").await, "100");
}

#[tokio::test]
async fn access_dates_are_days() {
    let f = Fixture::new();
    f.ok("CreateSecret", json!({ "Name": "a", "SecretString": "x" }))
        .await;
    let d = f.ok("DescribeSecret", json!({ "SecretId": "a" })).await;
    assert!(d.get("LastAccessedDate").is_none());
    f.advance(DAY + 5 * 3_600_000);
    f.value("a").await;
    let d = f.ok("DescribeSecret", json!({ "SecretId": "a" })).await;
    assert_eq!(d["LastAccessedDate"], json!((T0 + DAY) as f64 / 1000.0));
    assert_eq!(d["LastChangedDate"], json!(T0 as f64 / 1000.0));
}

#[tokio::test]
async fn listing_filters_sorting_and_pages() {
    let f = Fixture::new();
    for (i, (name, desc, team)) in [
        ("prod/db", "Primary database", "data"),
        ("prod/api", "Public API key", "web"),
        ("dev/db", "Scratch database", "data"),
        ("Prod/other", "Other", "ops"),
    ]
    .iter()
    .enumerate()
    {
        f.advance(1000);
        f.ok(
            "CreateSecret",
            json!({ "Name": name, "SecretString": format!("v{i}"), "Description": desc,
                    "Tags": [{"Key": "team", "Value": team}] }),
        )
        .await;
    }
    let names = |v: &Value| -> Vec<String> {
        v["SecretList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Name"].as_str().unwrap().to_string())
            .collect()
    };
    let f = &f;
    let list = |filters: Value| async move {
        names(&f.ok("ListSecrets", json!({ "Filters": filters })).await)
    };
    assert_eq!(
        list(json!([])).await,
        ["prod/db", "prod/api", "dev/db", "Prod/other"]
    );
    assert_eq!(
        list(json!([{"Key": "name", "Values": ["prod"]}])).await,
        ["prod/db", "prod/api"]
    );
    assert_eq!(
        list(json!([{"Key": "name", "Values": ["!prod"]}])).await,
        ["dev/db", "Prod/other"]
    );
    assert_eq!(
        list(json!([{"Key": "description", "Values": ["DATABASE"]}])).await,
        ["prod/db", "dev/db"]
    );
    assert_eq!(
        list(json!([{"Key": "tag-value", "Values": ["data"]}, {"Key": "name", "Values": ["dev"]}]))
            .await,
        ["dev/db"]
    );
    assert_eq!(
        list(json!([{"Key": "all", "Values": ["api"]}])).await,
        ["prod/api"]
    );
    assert_eq!(
        list(json!([{"Key": "tag-key", "Values": ["!team"]}])).await,
        Vec::<String>::new()
    );
    assert_eq!(
        f.code(
            "ListSecrets",
            json!({ "Filters": [{"Key": "colour", "Values": ["x"]}] })
        )
        .await,
        "ValidationException"
    );
    assert_eq!(
        f.code(
            "ListSecrets",
            json!({ "Filters": [{"Key": "name", "Values": ["a*"]}] })
        )
        .await,
        "ValidationException"
    );
    assert_eq!(
        f.code("ListSecrets", json!({ "MaxResults": 101 })).await,
        "ValidationException"
    );
    assert_eq!(
        f.code("ListSecrets", json!({ "NextToken": "garbage!" }))
            .await,
        "InvalidNextTokenException"
    );

    let desc = f.ok("ListSecrets", json!({ "SortOrder": "desc" })).await;
    assert_eq!(
        names(&desc),
        ["Prod/other", "dev/db", "prod/api", "prod/db"]
    );
    let by_name = f.ok("ListSecrets", json!({ "SortBy": "name" })).await;
    assert_eq!(
        names(&by_name),
        ["Prod/other", "dev/db", "prod/api", "prod/db"]
    );
    assert!(by_name["SecretList"][0]["SecretVersionsToStages"].is_object());

    for order in ["asc", "desc"] {
        let mut seen = Vec::new();
        let mut next: Option<Value> = None;
        loop {
            let mut body = json!({ "MaxResults": 1, "SortOrder": order });
            if let Some(n) = &next {
                body["NextToken"] = n.clone();
            }
            let page = f.ok("ListSecrets", body).await;
            seen.extend(names(&page));
            match page.get("NextToken") {
                Some(n) => next = Some(n.clone()),
                None => break,
            }
        }
        let mut want = vec!["prod/db", "prod/api", "dev/db", "Prod/other"];
        if order == "desc" {
            want.reverse();
        }
        assert_eq!(seen, want, "{order}");
    }

    // BatchGetSecretValue: by id with errors, and by filter with pages.
    let b = f
        .ok(
            "BatchGetSecretValue",
            json!({ "SecretIdList": ["prod/db", "missing", "dev/db"] }),
        )
        .await;
    let got: Vec<&str> = b["SecretValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["SecretString"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["v0", "v2"]);
    assert_eq!(
        b["Errors"],
        json!([{ "SecretId": "missing", "ErrorCode": "ResourceNotFoundException",
                                     "Message": "Secrets Manager can't find the specified secret." }])
    );
    let b = f
        .ok(
            "BatchGetSecretValue",
            json!({ "Filters": [{"Key": "name", "Values": ["prod"]}], "MaxResults": 1 }),
        )
        .await;
    assert_eq!(b["SecretValues"].as_array().unwrap().len(), 1);
    let b2 = f
        .ok(
            "BatchGetSecretValue",
            json!({ "Filters": [{"Key": "name", "Values": ["prod"]}], "MaxResults": 1, "NextToken": b["NextToken"] }),
        )
        .await;
    assert_eq!(b2["SecretValues"].as_array().unwrap().len(), 1);
    assert!(b2.get("NextToken").is_none());
    assert_ne!(b["SecretValues"][0]["Name"], b2["SecretValues"][0]["Name"]);
    for body in [
        json!({}),
        json!({ "SecretIdList": ["a"], "Filters": [{"Key": "name", "Values": ["a"]}] }),
        json!({ "SecretIdList": ["a"], "MaxResults": 5 }),
    ] {
        assert_eq!(
            f.code("BatchGetSecretValue", body).await,
            "InvalidParameterException"
        );
    }
}

#[tokio::test]
async fn tags() {
    let f = Fixture::new();
    f.ok(
        "CreateSecret",
        json!({ "Name": "t", "Tags": [{"Key": "a", "Value": "1"}] }),
    )
    .await;
    f.ok(
        "TagResource",
        json!({ "SecretId": "t", "Tags": [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}] }),
    )
    .await;
    let d = f.ok("DescribeSecret", json!({ "SecretId": "t" })).await;
    assert_eq!(
        d["Tags"],
        json!([{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}])
    );
    f.ok(
        "UntagResource",
        json!({ "SecretId": "t", "TagKeys": ["a", "zzz"] }),
    )
    .await;
    let d = f.ok("DescribeSecret", json!({ "SecretId": "t" })).await;
    assert_eq!(d["Tags"], json!([{"Key": "b", "Value": ""}]));
    let many: Vec<Value> = (0..50)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    assert_eq!(
        f.code("TagResource", json!({ "SecretId": "t", "Tags": many }))
            .await,
        "LimitExceededException"
    );
    assert_eq!(
        f.code(
            "TagResource",
            json!({ "SecretId": "t", "Tags": [{"Key": "", "Value": "v"}] })
        )
        .await,
        "ValidationException"
    );
    assert_eq!(
        f.code("TagResource", json!({ "SecretId": "nope", "Tags": [] }))
            .await,
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn rotation_runs_the_four_steps() {
    let f = Fixture::new();
    f.ok(
        "CreateSecret",
        json!({ "Name": "rot", "SecretString": "pw", "ClientRequestToken": token(1) }),
    )
    .await;
    assert_eq!(
        f.code("RotateSecret", json!({ "SecretId": "rot" })).await,
        "InvalidRequestException",
        "no function configured"
    );
    assert_eq!(
        f.code("RotateSecret", json!({ "SecretId": "rot", "RotationLambdaARN": "arn:aws:lambda:us-east-1:000000000000:function:nope" }))
            .await,
        "AccessDeniedException"
    );
    let r = f
        .ok(
            "RotateSecret",
            json!({ "SecretId": "rot", "RotationLambdaARN": FUNCTION, "ClientRequestToken": token(2),
                    "RotationRules": { "AutomaticallyAfterDays": 30 } }),
        )
        .await;
    assert_eq!(r["VersionId"], json!(token(2)));
    wait_steps(&f, 4).await;
    assert_eq!(
        *f.function.steps.lock().unwrap(),
        ["createSecret", "setSecret", "testSecret", "finishSecret"]
    );
    assert_eq!(f.value("rot").await, "pw-rotated");
    assert_eq!(
        f.stages("rot").await,
        json!({ token(1): ["AWSPREVIOUS"], token(2): ["AWSPENDING", "AWSCURRENT"] })
    );
    let d = f.ok("DescribeSecret", json!({ "SecretId": "rot" })).await;
    assert_eq!(d["RotationEnabled"], true);
    assert_eq!(d["RotationLambdaARN"], FUNCTION);
    assert_eq!(d["RotationRules"], json!({ "AutomaticallyAfterDays": 30 }));
    assert_eq!(d["LastRotatedDate"], json!(T0 as f64 / 1000.0));
    assert_eq!(
        d["NextRotationDate"],
        json!((T0 + 31 * DAY - 1000) as f64 / 1000.0)
    );

    // Again, reusing the stored configuration; AWSPENDING moves on.
    f.ok(
        "RotateSecret",
        json!({ "SecretId": "rot", "ClientRequestToken": token(3) }),
    )
    .await;
    wait_steps(&f, 8).await;
    assert_eq!(f.value("rot").await, "pw-rotated-rotated");
    assert_eq!(
        f.stages("rot").await,
        json!({ token(2): ["AWSPREVIOUS"], token(3): ["AWSPENDING", "AWSCURRENT"] })
    );

    // A failing step leaves AWSPENDING on the new version; the next rotation is refused
    // until someone cleans up.
    *f.function.fail_at.lock().unwrap() = Some("testSecret".into());
    f.ok(
        "RotateSecret",
        json!({ "SecretId": "rot", "ClientRequestToken": token(4) }),
    )
    .await;
    wait_steps(&f, 11).await;
    assert_eq!(
        f.value("rot").await,
        "pw-rotated-rotated",
        "AWSCURRENT did not move"
    );
    assert_eq!(
        f.stages("rot").await,
        json!({ token(2): ["AWSPREVIOUS"], token(3): ["AWSCURRENT"], token(4): ["AWSPENDING"] })
    );
    assert_eq!(
        f.code(
            "RotateSecret",
            json!({ "SecretId": "rot", "ClientRequestToken": token(5) })
        )
        .await,
        "InvalidRequestException"
    );
    let c = f
        .ok("CancelRotateSecret", json!({ "SecretId": "rot" }))
        .await;
    assert_eq!(c["VersionId"], json!(token(4)));
    let d = f.ok("DescribeSecret", json!({ "SecretId": "rot" })).await;
    assert_eq!(d["RotationEnabled"], false);
    assert!(d.get("NextRotationDate").is_none());
    f.ok(
        "UpdateSecretVersionStage",
        json!({ "SecretId": "rot", "VersionStage": "AWSPENDING", "RemoveFromVersionId": token(4) }),
    )
    .await;
    *f.function.fail_at.lock().unwrap() = None;
    f.ok(
        "RotateSecret",
        json!({ "SecretId": "rot", "ClientRequestToken": token(6) }),
    )
    .await;
    wait_steps(&f, 15).await;
    assert_eq!(f.value("rot").await, "pw-rotated-rotated-rotated");
    assert_eq!(
        f.code("CancelRotateSecret", json!({ "SecretId": "nope" }))
            .await,
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn rotation_schedules_without_rotating_now() {
    let f = Fixture::new();
    f.ok(
        "CreateSecret",
        json!({ "Name": "later", "SecretString": "pw" }),
    )
    .await;
    let r = f
        .ok(
            "RotateSecret",
            json!({ "SecretId": "later", "RotationLambdaARN": FUNCTION, "RotateImmediately": false,
                    "RotationRules": { "ScheduleExpression": "cron(0 16 1,15 * ? *)", "Duration": "2h" } }),
        )
        .await;
    assert!(r.get("VersionId").is_none());
    let d = f.ok("DescribeSecret", json!({ "SecretId": "later" })).await;
    assert_eq!(
        d["NextRotationDate"],
        json!((T0 + 18 * 3_600_000 - 1000) as f64 / 1000.0)
    );
    assert!(f.function.steps.lock().unwrap().is_empty());
    for rules in [
        json!({ "ScheduleExpression": "rate(1 hour)" }),
        json!({ "AutomaticallyAfterDays": 3, "ScheduleExpression": "rate(3 days)" }),
        json!({ "ScheduleExpression": "rate(2 days)", "Duration": "48h" }),
    ] {
        assert_eq!(
            f.code(
                "RotateSecret",
                json!({ "SecretId": "later", "RotationRules": rules })
            )
            .await,
            "InvalidParameterException"
        );
    }
}

#[tokio::test]
async fn passwords_and_unknown_operations() {
    let f = Fixture::new();
    let p = f.ok("GetRandomPassword", json!({})).await;
    assert_eq!(p["RandomPassword"].as_str().unwrap().len(), 32);
    let p = f
        .ok(
            "GetRandomPassword",
            json!({ "PasswordLength": 20, "ExcludePunctuation": true, "IncludeSpace": false }),
        )
        .await;
    assert!(p["RandomPassword"]
        .as_str()
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        f.code("GetRandomPassword", json!({ "PasswordLength": 4097 }))
            .await,
        "ValidationException"
    );
    assert_eq!(
        f.code("GetRandomPassword", json!({ "PasswordLength": 2 }))
            .await,
        "InvalidParameterException"
    );
    assert_eq!(
        f.code("PutResourcePolicy", json!({ "SecretId": "x" }))
            .await,
        "NotImplemented"
    );
    assert_eq!(
        f.code(
            "CreateSecret",
            json!({ "Name": "r", "AddReplicaRegions": [{"Region": "eu-west-1"}] })
        )
        .await,
        "NotImplemented"
    );
    assert_eq!(
        f.code("CreateSecret", json!({ "Name": "bad name" })).await,
        "InvalidParameterException"
    );
    assert_eq!(
        f.code("CreateSecret", json!({})).await,
        "ValidationException"
    );
}

#[tokio::test]
async fn scheduled_rotations_start_when_their_window_opens() {
    let f = Fixture::new();
    f.ok(
        "CreateSecret",
        json!({ "Name": "sched", "SecretString": "pw" }),
    )
    .await;
    f.ok(
        "RotateSecret",
        json!({ "SecretId": "sched", "RotationLambdaARN": FUNCTION, "RotateImmediately": false,
                "RotationRules": { "AutomaticallyAfterDays": 1 } }),
    )
    .await;
    assert_eq!(f.secrets.rotate_due().await, 0, "the window opens tomorrow");
    f.advance(DAY);
    assert_eq!(f.secrets.rotate_due().await, 1);
    assert_eq!(f.secrets.rotate_due().await, 0, "one rotation per window");
    wait_steps(&f, 4).await;
    assert_eq!(f.value("sched").await, "pw-rotated");
    let d = f.ok("DescribeSecret", json!({ "SecretId": "sched" })).await;
    assert_eq!(d["LastRotatedDate"], json!((T0 + DAY) as f64 / 1000.0));
    assert_eq!(
        d["NextRotationDate"],
        json!((T0 + 3 * DAY - 1000) as f64 / 1000.0)
    );

    // The next one fails at setSecret; it is reattempted an hour later with the same
    // version, and then completes.
    *f.function.fail_at.lock().unwrap() = Some("setSecret".into());
    f.advance(DAY);
    assert_eq!(f.secrets.rotate_due().await, 1);
    wait_steps(&f, 6).await;
    let pending = f
        .ok(
            "GetSecretValue",
            json!({ "SecretId": "sched", "VersionStage": "AWSPENDING" }),
        )
        .await;
    assert_eq!(f.value("sched").await, "pw-rotated");
    f.advance(30 * 60_000);
    assert_eq!(f.secrets.rotate_due().await, 0);
    *f.function.fail_at.lock().unwrap() = None;
    f.advance(30 * 60_000);
    assert_eq!(f.secrets.rotate_due().await, 1);
    wait_steps(&f, 10).await;
    let current = f.ok("GetSecretValue", json!({ "SecretId": "sched" })).await;
    assert_eq!(
        current["VersionId"], pending["VersionId"],
        "the same version, reattempted"
    );
    assert_eq!(current["SecretString"], "pw-rotated-rotated");

    // Cancelled rotations are not scheduled.
    f.ok("CancelRotateSecret", json!({ "SecretId": "sched" }))
        .await;
    f.advance(10 * DAY);
    assert_eq!(f.secrets.rotate_due().await, 0);
}
