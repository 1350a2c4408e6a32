//! The operations against an in-memory store and a manual clock: versions, labels, paging,
//! restarts, and what SecureString values look like at rest.

use crate::{Ssm, SsmConfig, PARAMETER, VERSION};
use serde_json::{json, Value};
use std::sync::Arc;
use store::{Resource, ResourceStore, ResourceWrite, SqliteStore};
use wire::time::ManualClock;
use wire::{ApiRequest, Service};

/// 2026-03-01T00:00:00Z
const T0: i64 = 1_772_323_200_000;
const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const KEY_B: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

struct Fixture {
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    ssm: Ssm,
}

impl Fixture {
    fn new() -> Self {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let clock = Arc::new(ManualClock::new(T0));
        let ssm = Self::open(&store, &clock, KEY_A);
        Self { store, clock, ssm }
    }

    fn open(store: &Arc<SqliteStore>, clock: &Arc<ManualClock>, key: &str) -> Ssm {
        Ssm::open(
            store.clone(),
            Arc::new(crypto::MasterKey::from_base64(key).unwrap()),
            clock.clone(),
        )
        .unwrap()
    }

    /// A restart on the same data, with the given master key.
    fn reopen(&mut self, key: &str) {
        self.ssm = Self::open(&self.store, &self.clock, key);
    }

    /// (status, body) of one call.
    async fn raw(&self, op: &str, body: Value) -> (u16, Value) {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-target", format!("AmazonSSM.{op}").parse().unwrap());
        let req = ApiRequest {
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
        };
        let resp = self.ssm.handle(req).await;
        let v: Value = serde_json::from_slice(resp.body()).unwrap();
        (resp.status().as_u16(), v)
    }

    async fn call(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.raw(op, body).await;
        assert_eq!(status, 200, "{op}: {v}");
        v
    }

    /// The AWS error code of a call that must fail.
    async fn error(&self, op: &str, body: Value) -> String {
        let (status, v) = self.raw(op, body).await;
        assert_ne!(status, 200, "{op} should fail: {v}");
        v["__type"].as_str().unwrap_or_default().to_string()
    }

    async fn put(&self, name: &str, value: &str) -> u64 {
        self.call(
            "PutParameter",
            json!({"Name": name, "Value": value, "Type": "String", "Overwrite": true}),
        )
        .await["Version"]
            .as_u64()
            .unwrap()
    }

    async fn value(&self, name: &str) -> Value {
        self.call(
            "GetParameter",
            json!({"Name": name, "WithDecryption": true}),
        )
        .await["Parameter"]
            .clone()
    }
}

#[tokio::test]
async fn put_get_overwrite_and_restart() {
    let mut f = Fixture::new();
    let v = f
        .call(
            "PutParameter",
            json!({"Name": "/app/url", "Value": "one", "Type": "String", "Description": "d",
                   "Tags": [{"Key": "env", "Value": "dev"}]}),
        )
        .await;
    assert_eq!(v, json!({"Version": 1, "Tier": "Standard"}));
    assert_eq!(
        f.error(
            "PutParameter",
            json!({"Name": "/app/url", "Value": "x", "Type": "String"})
        )
        .await,
        "ParameterAlreadyExists"
    );
    f.clock.advance(5_000);
    // Overwrite without Type keeps the type, the description and the tags.
    let v = f
        .call(
            "PutParameter",
            json!({"Name": "/app/url", "Value": "two", "Overwrite": true}),
        )
        .await;
    assert_eq!(v["Version"], 2);
    let p = f.value("/app/url").await;
    assert_eq!(
        p,
        json!({"Name": "/app/url", "Type": "String", "Value": "two", "Version": 2,
               "LastModifiedDate": (T0 + 5_000) as f64 / 1000.0,
               "ARN": "arn:aws:ssm:us-east-1:000000000000:parameter/app/url", "DataType": "text"})
    );
    f.reopen(KEY_A);
    assert_eq!(f.value("/app/url").await, p, "a restart keeps everything");
    let one = f.call("GetParameter", json!({"Name": "/app/url:1"})).await;
    assert_eq!(
        (
            one["Parameter"]["Value"].clone(),
            one["Parameter"]["Selector"].clone()
        ),
        (json!("one"), json!(":1"))
    );
    let d = f.call("DescribeParameters", json!({})).await;
    assert_eq!(d["Parameters"][0]["Description"], "d");
    assert_eq!(
        d["Parameters"][0]["LastModifiedUser"],
        "arn:aws:iam::000000000000:root"
    );
    let tags = f
        .call(
            "ListTagsForResource",
            json!({"ResourceType": "Parameter", "ResourceId": "/app/url"}),
        )
        .await;
    assert_eq!(tags, json!({"TagList": [{"Key": "env", "Value": "dev"}]}));
    // `/name` and `name` are one parameter.
    f.put("plain", "p").await;
    assert_eq!(f.value("/plain").await["Value"], "p");
}

#[tokio::test]
async fn secure_strings_are_sealed_at_rest_and_bound_to_their_version() {
    let mut f = Fixture::new();
    let secret = "hunter2-correct-horse";
    f.call(
        "PutParameter",
        json!({"Name": "/db/pass", "Value": secret, "Type": "SecureString"}),
    )
    .await;
    f.call(
        "PutParameter",
        json!({"Name": "/db/pass", "Value": "second-secret", "Overwrite": true}),
    )
    .await;
    for r in f.store.resources(VERSION).unwrap() {
        assert!(
            !r.body.contains("secret") && !r.body.contains("hunter2"),
            "{}",
            r.body
        );
    }
    assert_eq!(f.value("/db/pass:1").await["Value"], secret);
    let sealed =
        f.call("GetParameter", json!({"Name": "/db/pass:1"})).await["Parameter"]["Value"].clone();
    assert_ne!(
        sealed,
        json!(secret),
        "without decryption the sealed form comes back"
    );
    let d = f.call("DescribeParameters", json!({})).await;
    assert_eq!(d["Parameters"][0]["KeyId"], "alias/aws/ssm");

    // Another master key opens nothing; the sealed form is still shown without decryption.
    f.reopen(KEY_B);
    assert_eq!(
        f.error(
            "GetParameter",
            json!({"Name": "/db/pass", "WithDecryption": true})
        )
        .await,
        "InvalidKeyId"
    );
    f.call("GetParameter", json!({"Name": "/db/pass"})).await;

    // A sealed value moved onto another version does not open there.
    f.reopen(KEY_A);
    let mut rows = f.store.resources(VERSION).unwrap();
    let v1: Value = serde_json::from_str(&rows[0].body).unwrap();
    let mut v2: Value = serde_json::from_str(&rows[1].body).unwrap();
    v2["Value"] = v1["Value"].clone();
    rows[1].body = v2.to_string();
    f.store
        .apply_resources(&[ResourceWrite::Put(rows[1].clone())], &[], T0)
        .unwrap();
    f.reopen(KEY_A);
    assert_eq!(
        f.error(
            "GetParameter",
            json!({"Name": "/db/pass", "WithDecryption": true})
        )
        .await,
        "InvalidKeyId"
    );
}

#[tokio::test]
async fn a_hundred_versions_then_the_oldest_goes_unless_labelled() {
    let mut f = Fixture::new();
    for i in 1..=100 {
        assert_eq!(f.put("/v", &format!("value-{i}")).await, i);
    }
    f.call(
        "LabelParameterVersion",
        json!({"Name": "/v", "ParameterVersion": 1, "Labels": ["first"]}),
    )
    .await;
    assert_eq!(
        f.error(
            "PutParameter",
            json!({"Name": "/v", "Value": "x", "Overwrite": true})
        )
        .await,
        "ParameterMaxVersionLimitExceeded"
    );
    f.call(
        "UnlabelParameterVersion",
        json!({"Name": "/v", "ParameterVersion": 1, "Labels": ["first"]}),
    )
    .await;
    assert_eq!(f.put("/v", "value-101").await, 101);
    assert_eq!(
        f.error("GetParameter", json!({"Name": "/v:1"})).await,
        "ParameterVersionNotFound"
    );
    f.reopen(KEY_A);
    let h = f
        .call(
            "GetParameterHistory",
            json!({"Name": "/v", "MaxResults": 50}),
        )
        .await;
    assert_eq!(h["Parameters"][0]["Version"], 2);
    let token = h["NextToken"].clone();
    let h2 = f
        .call(
            "GetParameterHistory",
            json!({"Name": "/v", "NextToken": token}),
        )
        .await;
    assert_eq!(h2["Parameters"].as_array().unwrap().len(), 50);
    assert_eq!(h2["Parameters"][49]["Version"], 101);
    assert!(h2.get("NextToken").is_none());
    assert_eq!(f.store.resources(VERSION).unwrap().len(), 100);
}

#[tokio::test]
async fn labels_move_between_versions_and_persist() {
    let mut f = Fixture::new();
    for v in ["a", "b", "c"] {
        f.put("/l", v).await;
    }
    let r = f
        .call(
            "LabelParameterVersion",
            json!({"Name": "/l", "ParameterVersion": 1, "Labels": ["prod", "1bad", "awsx"]}),
        )
        .await;
    assert_eq!(
        r,
        json!({"InvalidLabels": ["1bad", "awsx"], "ParameterVersion": 1})
    );
    assert_eq!(f.value("/l:prod").await["Value"], "a");
    // Without a version the latest gets the label, which leaves version 1.
    let r = f
        .call(
            "LabelParameterVersion",
            json!({"Name": "/l", "Labels": ["prod"]}),
        )
        .await;
    assert_eq!(r["ParameterVersion"], 3);
    f.reopen(KEY_A);
    assert_eq!(f.value("/l:prod").await["Value"], "c");
    let h = f.call("GetParameterHistory", json!({"Name": "/l"})).await;
    let labels: Vec<Value> = h["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Labels"].clone())
        .collect();
    assert_eq!(labels, vec![json!([]), json!([]), json!(["prod"])]);
    let many: Vec<String> = (0..10).map(|i| format!("l{i}")).collect();
    f.call(
        "LabelParameterVersion",
        json!({"Name": "/l", "ParameterVersion": 2, "Labels": many}),
    )
    .await;
    assert_eq!(
        f.error(
            "LabelParameterVersion",
            json!({"Name": "/l", "ParameterVersion": 2, "Labels": ["one-more"]})
        )
        .await,
        "ParameterVersionLabelLimitExceeded"
    );
    assert_eq!(
        f.error(
            "LabelParameterVersion",
            json!({"Name": "/l", "ParameterVersion": 9, "Labels": ["x"]})
        )
        .await,
        "ParameterVersionNotFound"
    );
    let r = f
        .call(
            "UnlabelParameterVersion",
            json!({"Name": "/l", "ParameterVersion": 3, "Labels": ["prod", "nope"]}),
        )
        .await;
    assert_eq!(
        r,
        json!({"RemovedLabels": ["prod"], "InvalidLabels": ["nope"]})
    );
}

#[tokio::test]
async fn by_path_pages_and_filters() {
    let f = Fixture::new();
    for i in 0..25 {
        f.put(&format!("/svc/a/p{i:02}"), "v").await;
    }
    f.put("/svc/b/deep/x", "v").await;
    f.put("/svc/top", "v").await;
    f.put("/svcx/other", "v").await;
    f.call(
        "PutParameter",
        json!({"Name": "/svc/a/secret", "Value": "s", "Type": "SecureString"}),
    )
    .await;
    let mut names = Vec::new();
    let mut token = Value::Null;
    loop {
        let page = f
            .call(
                "GetParametersByPath",
                json!({"Path": "/svc", "Recursive": true, "NextToken": token}),
            )
            .await;
        let items = page["Parameters"].as_array().unwrap();
        assert!(items.len() <= 10);
        names.extend(
            items
                .iter()
                .map(|p| p["Name"].as_str().unwrap().to_string()),
        );
        token = page.get("NextToken").cloned().unwrap_or(Value::Null);
        if token.is_null() {
            break;
        }
    }
    assert_eq!(names.len(), 28, "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("/svcx")));
    let one_level = f
        .call("GetParametersByPath", json!({"Path": "/svc/"}))
        .await;
    assert_eq!(
        one_level["Parameters"],
        json!([one_level["Parameters"][0].clone()])
    );
    assert_eq!(one_level["Parameters"][0]["Name"], "/svc/top");
    let secure = f
        .call(
            "GetParametersByPath",
            json!({"Path": "/svc", "Recursive": true,
                   "ParameterFilters": [{"Key": "Type", "Values": ["SecureString"]}]}),
        )
        .await;
    assert_eq!(secure["Parameters"].as_array().unwrap().len(), 1);
    assert_eq!(
        f.error(
            "GetParametersByPath",
            json!({"Path": "/svc", "MaxResults": 11})
        )
        .await,
        "ValidationException"
    );
    assert_eq!(
        f.error(
            "GetParametersByPath",
            json!({"Path": "/svc", "NextToken": "zz"})
        )
        .await,
        "InvalidNextToken"
    );
    let described = f
        .call(
            "DescribeParameters",
            json!({"ParameterFilters": [{"Key": "Path", "Option": "Recursive", "Values": ["/svc/a"]}], "MaxResults": 20}),
        )
        .await;
    assert_eq!(described["Parameters"].as_array().unwrap().len(), 20);
    let rest = f
        .call(
            "DescribeParameters",
            json!({"ParameterFilters": [{"Key": "Path", "Option": "Recursive", "Values": ["/svc/a"]}],
                   "NextToken": described["NextToken"]}),
        )
        .await;
    assert_eq!(rest["Parameters"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn deletes_remove_every_record() {
    let f = Fixture::new();
    f.put("/d/one", "1").await;
    f.put("/d/one", "2").await;
    f.put("/d/two", "2").await;
    f.call("DeleteParameter", json!({"Name": "/d/one"})).await;
    assert_eq!(
        f.error("DeleteParameter", json!({"Name": "/d/one"})).await,
        "ParameterNotFound"
    );
    let r = f
        .call(
            "DeleteParameters",
            json!({"Names": ["/d/two", "/d/none", "bad name"]}),
        )
        .await;
    assert_eq!(
        r,
        json!({"DeletedParameters": ["/d/two"], "InvalidParameters": ["/d/none", "bad name"]})
    );
    assert!(f.store.resources(VERSION).unwrap().is_empty());
    assert!(f.store.resources(PARAMETER).unwrap().is_empty());
    // Re-created, a parameter starts again at version 1.
    assert_eq!(f.put("/d/one", "again").await, 1);
}

#[tokio::test]
async fn unreadable_records_are_skipped_at_start() {
    let mut f = Fixture::new();
    f.put("/ok", "v").await;
    let junk = |kind: &str, scope: &str, name: &str| {
        ResourceWrite::Put(Resource {
            kind: kind.into(),
            scope: scope.into(),
            name: name.into(),
            body: "not json".into(),
            due_ms: None,
        })
    };
    f.store
        .apply_resources(
            &[
                junk(PARAMETER, "us-east-1", "/broken"),
                junk(VERSION, "us-east-1:/ok", "7"),
                junk(VERSION, "us-east-1:/orphan", "1"),
            ],
            &[],
            T0,
        )
        .unwrap();
    f.reopen(KEY_A);
    assert_eq!(f.value("/ok").await["Value"], "v");
    assert_eq!(
        f.error("GetParameter", json!({"Name": "/broken"})).await,
        "ParameterNotFound"
    );
}

#[tokio::test]
async fn unknown_operations_and_bad_bodies() {
    let f = Fixture::new();
    let (status, v) = f.raw("SendCommand", json!({})).await;
    assert_eq!(
        (status, v["__type"].as_str()),
        (501, Some("NotImplemented"))
    );
    assert_eq!(
        f.error(
            "PutParameter",
            json!({"Name": "/x", "Value": "v", "Overwrite": "yes", "Type": "String"})
        )
        .await,
        "SerializationException"
    );
    assert_eq!(
        f.error("PutParameter", json!({"Name": "/x", "Type": "String"}))
            .await,
        "ValidationException"
    );
}

#[tokio::test]
async fn quotas_per_tier() {
    let mut f = Fixture::new();
    f.ssm = Ssm::open_with(
        f.store.clone(),
        Arc::new(crypto::MasterKey::from_base64(KEY_A).unwrap()),
        f.clock.clone(),
        SsmConfig {
            standard_parameters_max: 2,
            advanced_parameters_max: 1,
        },
    )
    .unwrap();
    f.put("/q/1", "v").await;
    f.put("/q/2", "v").await;
    // Existing parameters still take new versions.
    f.put("/q/2", "w").await;
    assert_eq!(
        f.error(
            "PutParameter",
            json!({"Name": "/q/3", "Value": "v", "Type": "String"})
        )
        .await,
        "ParameterLimitExceeded"
    );
    // Intelligent-Tiering moves to the advanced tier when the standard one is full.
    let r = f
        .call(
            "PutParameter",
            json!({"Name": "/q/3", "Value": "v", "Type": "String", "Tier": "Intelligent-Tiering"}),
        )
        .await;
    assert_eq!(r["Tier"], "Advanced");
    assert_eq!(
        f.error(
            "PutParameter",
            json!({"Name": "/q/4", "Value": "v", "Type": "String", "Tier": "Intelligent-Tiering"})
        )
        .await,
        "ParameterLimitExceeded"
    );
    assert_eq!(
        f.error(
            "PutParameter",
            json!({"Name": "/q/1", "Value": "v", "Tier": "Advanced", "Overwrite": true})
        )
        .await,
        "ParameterLimitExceeded"
    );
    f.call("DeleteParameter", json!({"Name": "/q/1"})).await;
    f.put("/q/4", "v").await;
}
