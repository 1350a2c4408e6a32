//! Queue administration beside attributes: tags, the dead-letter sources of a queue, and
//! permissions (statements of the queue's `Policy` attribute).

use crate::api::{opt_str, req_str, str_list, str_map};
use crate::error::{Result, SqsError};
use crate::{model, queue_put, Queue, Sqs};
use serde_json::{json, Value};
use wire::ApiRequest;

impl Sqs {
    /// Changes one queue with `change` and writes it through before memory changes.
    pub(crate) async fn update_queue(
        &self,
        key: &(String, String),
        change: impl FnOnce(&mut Queue) -> Result<()>,
    ) -> Result<()> {
        let _w = self.live().lock().await;
        let mut q = self
            .live()
            .read()
            .queues
            .get(key)
            .cloned()
            .ok_or(SqsError::QueueDoesNotExist)?;
        change(&mut q)?;
        let now = self.now_ms();
        self.live()
            .commit(vec![queue_put(&key.0, &q)], vec![], now)
            .await?;
        if let Some(live) = self.live().write().queues.get_mut(key) {
            live.attrs = q.attrs;
            live.modified_ms = q.modified_ms;
            live.tags = q.tags;
        }
        Ok(())
    }

    pub(crate) async fn tag_queue(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let add = str_map(body, "Tags")?;
        self.update_queue(&key, |q| {
            let mut tags = q.tags.clone();
            tags.extend(add);
            model::check_tags(&tags)?;
            q.tags = tags;
            Ok(())
        })
        .await?;
        Ok(json!({}))
    }

    pub(crate) async fn untag_queue(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let gone = str_list(body, "TagKeys")?;
        self.update_queue(&key, |q| {
            q.tags.retain(|k, _| !gone.contains(k));
            Ok(())
        })
        .await?;
        Ok(json!({}))
    }

    pub(crate) fn list_queue_tags(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let st = self.live().read();
        let q = st.queues.get(&key).ok_or(SqsError::QueueDoesNotExist)?;
        if q.tags.is_empty() {
            return Ok(json!({}));
        }
        Ok(json!({ "Tags": q.tags }))
    }

    /// The queues whose redrive policy names this queue as their dead-letter queue.
    pub(crate) fn dead_letter_sources(&self, req: &ApiRequest, body: &Value) -> Result<Value> {
        let key = self.queue_key(&req.region, body)?;
        let max = crate::api::bounded(body, "MaxResults", 1, 1000)?;
        let after = opt_str(body, "NextToken")?;
        let arn = model::queue_arn(&key.0, &key.1);
        let st = self.live().read();
        let mut names: Vec<&str> = st
            .queues
            .iter()
            .filter(|((r, _), q)| {
                r == &key.0
                    && q.attrs
                        .redrive
                        .as_ref()
                        .is_some_and(|d| d.dead_letter_target_arn == arn)
            })
            .map(|((_, n), _)| n.as_str())
            .filter(|n| after.is_none_or(|a| *n > a))
            .collect();
        let limit = max.unwrap_or(1000) as usize;
        let more = names.len() > limit;
        names.truncate(limit);
        let urls: Vec<String> = names.iter().map(|n| self.queue_url(req, n)).collect();
        let mut out = json!({ "queueUrls": urls });
        if more && max.is_some() {
            if let Some(last) = names.last() {
                out["NextToken"] = json!(last);
            }
        }
        Ok(out)
    }

    pub(crate) async fn add_permission(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let label = req_str(body, "Label")?.to_string();
        if !model::valid_batch_id(&label) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Value {label} for parameter Label is invalid. Reason: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length."
            )));
        }
        let accounts = str_list(body, "AWSAccountIds")?;
        let actions = str_list(body, "Actions")?;
        if accounts.is_empty() || actions.is_empty() {
            return Err(SqsError::MissingParameter(
                "The request must contain the parameters AWSAccountIds and Actions.".into(),
            ));
        }
        let arn = model::queue_arn(&key.0, &key.1);
        self.update_queue(&key, |q| {
            edit_statements(q, &arn, |statements| {
                if statements.iter().any(|s| s["Sid"] == label.as_str()) {
                    return Err(SqsError::InvalidParameterValue(format!(
                        "Value {label} for parameter Label is invalid. Reason: Already exists."
                    )));
                }
                statements.push(json!({
                    "Sid": label,
                    "Effect": "Allow",
                    "Principal": {"AWS": accounts
                        .iter()
                        .map(|a| format!("arn:aws:iam::{a}:root"))
                        .collect::<Vec<_>>()},
                    "Action": actions.iter().map(|a| format!("SQS:{a}")).collect::<Vec<_>>(),
                    "Resource": arn,
                }));
                Ok(())
            })
        })
        .await?;
        Ok(json!({}))
    }

    pub(crate) async fn remove_permission(&self, region: &str, body: &Value) -> Result<Value> {
        let key = self.queue_key(region, body)?;
        let label = req_str(body, "Label")?.to_string();
        let arn = model::queue_arn(&key.0, &key.1);
        self.update_queue(&key, |q| {
            edit_statements(q, &arn, |statements| {
            let before = statements.len();
            statements.retain(|s| s["Sid"] != label.as_str());
            if statements.len() == before {
                return Err(SqsError::InvalidParameterValue(format!(
                    "Value {label} for parameter Label is invalid. Reason: can't find label on existing policy."
                )));
            }
            Ok(())
            })
        })
        .await?;
        Ok(json!({}))
    }
}

/// Changes the statements of the queue's policy (SQS's default document when it has
/// none); a policy left without statements is removed.
fn edit_statements(
    q: &mut Queue,
    arn: &str,
    change: impl FnOnce(&mut Vec<Value>) -> Result<()>,
) -> Result<()> {
    let mut policy = q
        .attrs
        .opaque
        .get("Policy")
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .filter(|p| p["Statement"].is_array())
        .unwrap_or_else(|| {
            json!({
                "Version": "2012-10-17",
                "Id": format!("{arn}/SQSDefaultPolicy"),
                "Statement": [],
            })
        });
    let mut statements = match policy["Statement"].take() {
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    change(&mut statements)?;
    if statements.is_empty() {
        q.attrs.opaque.remove("Policy");
    } else {
        policy["Statement"] = Value::Array(statements);
        q.attrs.opaque.insert("Policy".into(), policy.to_string());
    }
    Ok(())
}
