//! Rotation: RotateSecret and CancelRotateSecret, and the background task that runs a
//! rotation function through its four steps.
//!
//! As in AWS, RotateSecret stores the configuration and an empty version carrying
//! AWSPENDING (its id is the request's ClientRequestToken), answers, and then invokes the
//! function with `createSecret`, `setSecret`, `testSecret` and `finishSecret` in turn. The
//! function does the work through the normal API: it puts the new value into the pending
//! version and moves AWSCURRENT to it. A step that fails ends the rotation and leaves
//! AWSPENDING where it is, so the next RotateSecret reports an unfinished rotation.
//!
//! Rotation rules schedule rotations: [`Secrets::run_schedule`] starts one when a window
//! opens, and reattempts an unfinished one (with its own version id) hourly.

use crate::api::{opt_bool, opt_str, secret_id, token};
use crate::error::{Result, SecretsError, VERSION_EXISTS};
use crate::model::{self, check_len, Rotation, RotationRules, Secret, AWSCURRENT};
use crate::{value_delete, Outcome, Secrets};
use serde_json::{json, Value};
use wire::BoxFuture;

/// The steps of a rotation, in the order the function is invoked with them.
pub const ROTATION_STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/// Runs rotation functions (Lambda, in the server).
pub trait Rotator: Send + Sync {
    /// Invokes `function_arn` synchronously with `payload`. `Err` says why the function
    /// failed or could not be invoked; it must not contain secret values.
    fn invoke<'a>(
        &'a self,
        function_arn: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, std::result::Result<(), String>>;

    /// Whether `function_arn` names a function that can be invoked; RotateSecret refuses
    /// to start a rotation otherwise.
    fn can_invoke(&self, _function_arn: &str) -> bool {
        true
    }
}

const NO_FUNCTION: &str = "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.";

fn rules_param(body: &Value) -> Result<Option<RotationRules>> {
    match body.get("RotationRules") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value::<RotationRules>(v.clone())
            .map(Some)
            .map_err(|_| {
                SecretsError::Validation(
                    "1 validation error detected: Value at 'rotationRules' failed to satisfy constraint: Member must be a RotationRulesType".into(),
                )
            }),
    }
}

/// How long the scheduler waits before it reattempts a rotation it started.
pub const RETRY_MS: i64 = model::HOUR_MS;
/// How often the scheduler looks for rotations that are due.
const SCHEDULE_TICK: std::time::Duration = std::time::Duration::from_secs(60);

/// Sets the next rotation window from the rules, counted from `anchor_ms`.
fn schedule_next(r: &mut Rotation, now_ms: i64, anchor_ms: i64) {
    let window = r
        .rules
        .as_ref()
        .and_then(|rules| model::parse_rules(rules).ok().flatten())
        .and_then(|schedule| schedule.next_window(now_ms, anchor_ms));
    r.next_rotation_ms = window.map(|w| w.end_ms);
    r.due_ms = window.map(|w| w.start_ms);
}

/// Puts the empty AWSPENDING version `token` on `s` to start a rotation.
fn begin(
    s: &mut Secret,
    token: &str,
    now_ms: i64,
    writes: &mut Vec<store::ResourceWrite>,
) -> Result<()> {
    if s.unfinished_rotation().is_some() {
        return Err(SecretsError::InvalidRequest(
            "A previous rotation isn't complete. That rotation will be reattempted.".into(),
        ));
    }
    if s.version(token).is_some() {
        return Err(SecretsError::Exists(VERSION_EXISTS.into()));
    }
    for gone in model::make_room(s, now_ms)? {
        writes.push(value_delete(&s.arn, &gone));
    }
    model::add_pending(s, token, now_ms);
    Ok(())
}

impl Secrets {
    pub(crate) async fn rotate_secret(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        let token = token(body)?;
        let function = opt_str(body, "RotationLambdaARN")?;
        if let Some(f) = function {
            check_len("rotationLambdaARN", f, 0, 2048, true)?;
        }
        let rules = rules_param(body)?;
        if let Some(r) = &rules {
            model::parse_rules(r)?;
        }
        let now_rotating = opt_bool(body, "RotateImmediately")?.unwrap_or(true);
        let Some(rotator) = self.inner.rotator.clone() else {
            return Err(SecretsError::NotImplemented(
                "Rotation needs Lambda, which this server does not run.".into(),
            ));
        };
        let now = self.now_ms();
        let (arn, name, function) = self
            .change(region, id, |s, writes| {
                if s.is_deleted() {
                    return Err(SecretsError::marked_for_deletion());
                }
                let old = s.rotation.clone().unwrap_or_default();
                let function = function
                    .map(String::from)
                    .or(old.lambda_arn.clone())
                    .filter(|f| !f.is_empty())
                    .ok_or_else(|| SecretsError::InvalidRequest(NO_FUNCTION.into()))?;
                if !rotator.can_invoke(&function) {
                    return Err(SecretsError::AccessDenied(
                        "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.".into(),
                    ));
                }
                if now_rotating {
                    begin(s, &token, now, writes)?;
                }
                let mut rotation = Rotation {
                    enabled: true,
                    lambda_arn: Some(function.clone()),
                    rules: rules.clone().or(old.rules),
                    last_rotated_ms: old.last_rotated_ms,
                    next_rotation_ms: None,
                    due_ms: None,
                };
                schedule_next(&mut rotation, now, old.last_rotated_ms.unwrap_or(now));
                s.rotation = Some(rotation);
                s.last_changed_ms = now;
                Ok(Outcome::Changed((s.arn.clone(), s.name.clone(), function)))
            })
            .await?;
        let mut out = json!({ "ARN": arn, "Name": name });
        if now_rotating {
            out["VersionId"] = json!(token);
            self.spawn_rotation(region.to_string(), arn, function, token);
        }
        Ok(out)
    }

    /// Starts a rotation in the background. Tasks are not drained at shutdown: the steps
    /// are idempotent, and a rotation cut short ends like any failed one (AWSPENDING stays).
    fn spawn_rotation(&self, region: String, arn: String, function: String, token: String) {
        let me = self.clone();
        tokio::spawn(async move {
            let Ok(_place) = me.inner.rotations.acquire().await else {
                return;
            };
            if me.run_rotation(&arn, &function, &token).await {
                me.finish_rotation(&region, &arn, &token).await;
            }
        });
    }

    /// Invokes the function with each step in turn; false when one failed.
    async fn run_rotation(&self, arn: &str, function: &str, token: &str) -> bool {
        let Some(rotator) = self.inner.rotator.clone() else {
            return false;
        };
        for step in ROTATION_STEPS {
            let payload = json!({ "Step": step, "SecretId": arn, "ClientRequestToken": token });
            if let Err(e) = rotator
                .invoke(function, payload.to_string().into_bytes())
                .await
            {
                tracing::warn!(
                    "rotation of {arn} (version {token}) stopped at {step}: {e}; AWSPENDING stays on the new version"
                );
                return false;
            }
        }
        true
    }

    /// Records a rotation whose steps all succeeded: LastRotatedDate, and the next window.
    async fn finish_rotation(&self, region: &str, arn: &str, token: &str) {
        let now = self.now_ms();
        let done = self
            .change(region, arn, |s, _| {
                if s.arn != arn {
                    return Ok(Outcome::Unchanged(false));
                }
                let current = s
                    .version(token)
                    .is_some_and(|v| v.stages.iter().any(|x| x == AWSCURRENT));
                if !current {
                    return Ok(Outcome::Unchanged(false));
                }
                if let Some(r) = &mut s.rotation {
                    r.last_rotated_ms = Some(now);
                    schedule_next(r, now, now);
                }
                s.last_changed_ms = now;
                Ok(Outcome::Changed(true))
            })
            .await;
        match done {
            Ok(true) => tracing::info!("rotated {arn}: version {token} is AWSCURRENT"),
            Ok(false) => tracing::warn!(
                "rotation of {arn} ran every step, but version {token} is not AWSCURRENT"
            ),
            Err(e) => tracing::warn!("recording the rotation of {arn} failed: {e}"),
        }
    }

    /// Starts the rotations whose window has opened: a new one, or a reattempt of an
    /// unfinished one with its own version id. Returns how many started.
    pub async fn rotate_due(&self) -> usize {
        if self.inner.rotator.is_none() {
            return 0;
        }
        let now = self.now_ms();
        let is_due = |s: &Secret| {
            !s.is_deleted()
                && s.rotation.as_ref().is_some_and(|r| {
                    r.enabled && r.lambda_arn.is_some() && r.due_ms.is_some_and(|t| t <= now)
                })
        };
        let due: Vec<(String, String)> = self
            .live()
            .read()
            .secrets
            .iter()
            .filter(|(_, s)| is_due(s))
            .map(|(k, s)| (k.0.clone(), s.arn.clone()))
            .collect();
        let mut started = 0;
        for (region, arn) in due {
            let fresh = wire::id::uuid4();
            let attempt = self
                .change(&region, &arn, |s, writes| {
                    if s.arn != arn || !is_due(s) {
                        return Ok(Outcome::Unchanged(None));
                    }
                    let token = match s.unfinished_rotation() {
                        Some(v) => v.id.clone(),
                        None => {
                            begin(s, &fresh, now, writes)?;
                            fresh.clone()
                        }
                    };
                    let Some(r) = s.rotation.as_mut() else {
                        return Ok(Outcome::Unchanged(None));
                    };
                    // Until this attempt succeeds; success sets the next window.
                    r.due_ms = Some(now + RETRY_MS);
                    let function = r.lambda_arn.clone().unwrap_or_default();
                    Ok(Outcome::Changed(Some((function, token))))
                })
                .await;
            match attempt {
                Ok(Some((function, token))) => {
                    tracing::info!("scheduled rotation of {arn} (version {token})");
                    self.spawn_rotation(region, arn, function, token);
                    started += 1;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("scheduled rotation of {arn} could not start: {e}"),
            }
        }
        started
    }

    /// Starts scheduled rotations until `stop` turns true.
    pub async fn run_schedule(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.purge_due().await {
                tracing::warn!("deleting secrets at the end of their recovery window failed: {e}");
            }
            self.rotate_due().await;
            tokio::select! {
                _ = tokio::time::sleep(SCHEDULE_TICK) => {}
                _ = stop.changed() => return,
            }
        }
    }

    pub(crate) async fn cancel_rotate_secret(&self, region: &str, body: &Value) -> Result<Value> {
        let id = secret_id(body)?;
        let now = self.now_ms();
        self.change(region, id, |s, _| {
            if s.is_deleted() {
                return Err(SecretsError::marked_for_deletion());
            }
            let Some(r) = s.rotation.as_mut().filter(|r| r.lambda_arn.is_some()) else {
                return Err(SecretsError::InvalidRequest(NO_FUNCTION.into()));
            };
            r.enabled = false;
            r.next_rotation_ms = None;
            r.due_ms = None;
            s.last_changed_ms = now;
            let mut out = json!({ "ARN": s.arn, "Name": s.name });
            if let Some(v) = s.unfinished_rotation() {
                out["VersionId"] = json!(v.id);
            }
            Ok(Outcome::Changed(out))
        })
        .await
    }
}
