//! The SNS operations: one method per action, each answering the inner XML of its
//! `<ActionResult>`.

use crate::error::{Result, SnsError};
use crate::form::Form;
use crate::model::{self, MessageAttr, Notice, NoticeKind, Protocol};
use crate::xml::{self, el};
use crate::{Remembered, Sns, Subscription, Topic, DELIVER_KIND};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use store::NewEntry;
use wire::ApiRequest;

fn invalid(text: impl Into<String>) -> SnsError {
    SnsError::InvalidParameter(text.into())
}

fn required<'a>(form: &'a Form, key: &str) -> Result<&'a str> {
    form.get(key)
        .ok_or_else(|| invalid(format!("Invalid parameter: {key}")))
}

fn topic_not_found() -> SnsError {
    SnsError::NotFound("Topic does not exist".into())
}

fn subscription_not_found() -> SnsError {
    SnsError::NotFound("Subscription does not exist".into())
}

/// A confirmation token: 64 hex digits from the OS random source, since whoever holds
/// it can confirm the subscription.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&wire::id::next_u64().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One page of `items` after the token (the last key of the previous page).
fn page<'a, T>(
    items: impl Iterator<Item = (&'a String, T)>,
    token: Option<&str>,
) -> (Vec<T>, Option<String>) {
    let mut out = Vec::new();
    let mut last = None;
    for (key, item) in items.filter(|(k, _)| token.is_none_or(|t| k.as_str() > t)) {
        if out.len() == model::PAGE_MAX {
            return (out, last);
        }
        last = Some(key.clone());
        out.push(item);
    }
    (out, None)
}

fn next_token_xml(next: Option<String>) -> String {
    next.map(|n| el("NextToken", &n)).unwrap_or_default()
}

fn subscription_xml(s: &Subscription) -> String {
    let arn = if s.confirmed {
        s.arn.as_str()
    } else {
        "PendingConfirmation"
    };
    format!(
        "{}{}{}{}{}",
        el("SubscriptionArn", arn),
        el("Owner", wire::ACCOUNT_ID),
        el("Protocol", s.protocol.as_str()),
        el("Endpoint", &s.endpoint),
        el("TopicArn", &s.topic_arn)
    )
}

/// A message checked and ready to publish.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    message: String,
    subject: Option<String>,
    structured: Option<serde_json::Map<String, serde_json::Value>>,
    attrs: BTreeMap<String, MessageAttr>,
    dedup_id: Option<String>,
    group_id: Option<String>,
}

/// What a publish answers for one message.
pub(crate) struct Published {
    pub message_id: String,
    pub sequence: Option<String>,
}

fn message_attrs(form: &Form) -> Result<BTreeMap<String, MessageAttr>> {
    let mut out = BTreeMap::new();
    for (name, value) in form.entries("MessageAttributes", "Name", "Value") {
        let a = model::parse_message_attr(&name, &value)?;
        out.insert(name, a);
    }
    Ok(out)
}

fn check_tags(tags: &[(String, String)]) -> Result<()> {
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(invalid(
                "Invalid parameter: Tags Reason: A tag key must be 1 to 128 characters and a value at most 256.",
            ));
        }
    }
    Ok(())
}

fn form_tags(form: &Form) -> Vec<(String, String)> {
    form.members("Tags")
        .iter()
        .map(|t| {
            (
                t.get("Key").unwrap_or_default().to_string(),
                t.get("Value").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

impl Sns {
    pub(crate) async fn dispatch(
        &self,
        req: &ApiRequest,
        action: &str,
        form: &Form,
    ) -> Result<String> {
        let region = req.region.as_str();
        // A topic belongs to its Region: a call signed for another names no topic there.
        if let Some((topic_region, _)) = form.get("TopicArn").and_then(model::parse_topic_arn) {
            if topic_region != region {
                return Err(invalid("Invalid parameter: TopicArn"));
            }
        }
        match action {
            "CreateTopic" => self.create_topic(region, form).await,
            "DeleteTopic" => self.delete_topic(form).await,
            "ListTopics" => self.list_topics(region, form),
            "GetTopicAttributes" => self.get_topic_attributes(form),
            "SetTopicAttributes" => self.set_topic_attributes(form).await,
            "TagResource" => self.tag_resource(form).await,
            "UntagResource" => self.untag_resource(form).await,
            "ListTagsForResource" => self.list_tags(form),
            "Subscribe" => self.subscribe(form).await,
            "ConfirmSubscription" => self.confirm_subscription(form).await,
            "Unsubscribe" => self.unsubscribe(form).await,
            "ListSubscriptions" => self.list_subscriptions(region, form),
            "ListSubscriptionsByTopic" => self.list_subscriptions_by_topic(form),
            "GetSubscriptionAttributes" => self.get_subscription_attributes(form),
            "SetSubscriptionAttributes" => self.set_subscription_attributes(form).await,
            "Publish" => self.publish(form).await,
            "PublishBatch" => self.publish_batch(form).await,
            "" => Err(SnsError::MissingAction("Missing Action".into())),
            other => Err(SnsError::InvalidAction(format!(
                "Eddy does not implement the SNS action {other} yet."
            ))),
        }
    }

    // ---- topics ---------------------------------------------------------------

    async fn create_topic(&self, region: &str, form: &Form) -> Result<String> {
        let name = required(form, "Name")?;
        let requested = form.string_map("Attributes");
        let fifo = match requested.get("FifoTopic").map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(_) => {
                return Err(invalid(
                    "Invalid parameter: Attributes Reason: FifoTopic: Invalid value. Must be true or false.",
                ))
            }
        };
        if fifo && !model::valid_topic_name(name, true) {
            return Err(invalid(
                "Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
            ));
        }
        if !fifo && !model::valid_topic_name(name, false) {
            return Err(invalid("Invalid parameter: Topic Name"));
        }
        let mut attrs = BTreeMap::new();
        for (k, v) in &requested {
            if k == "FifoTopic" {
                if fifo {
                    attrs.insert(k.clone(), "true".to_string());
                }
                continue;
            }
            attrs.insert(k.clone(), model::check_topic_attribute(k, v, fifo)?);
        }
        let tags = form_tags(form);
        check_tags(&tags)?;
        let arn = model::topic_arn(region, name);
        let _w = self.live().lock().await;
        if let Some(t) = self.live().read().topics.get(&arn) {
            let same_attrs = attrs.iter().all(|(k, v)| t.attrs.get(k) == Some(v));
            if !same_attrs {
                return Err(invalid(
                    "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
                ));
            }
            let same_tags = tags.iter().all(|(k, v)| t.tags.get(k) == Some(v));
            if !same_tags {
                return Err(invalid(
                    "Invalid parameter: Tags Reason: Topic already exists with different tags",
                ));
            }
            return Ok(el("TopicArn", &arn));
        }
        let count = self
            .live()
            .read()
            .topics
            .values()
            .filter(|t| t.region == region)
            .count();
        if count >= model::TOPICS_PER_REGION_MAX {
            return Err(SnsError::TopicLimitExceeded(
                "Topic already exists or topic limit exceeded".into(),
            ));
        }
        if tags.len() > model::TAGS_MAX {
            return Err(SnsError::TagLimitExceeded(
                "Could not complete request: tag quota of per resource exceeded".into(),
            ));
        }
        let topic = Topic {
            arn: arn.clone(),
            region: region.to_string(),
            name: name.to_string(),
            attrs,
            tags: tags.into_iter().collect(),
            created_ms: self.now_ms(),
        };
        self.live()
            .commit(vec![topic.record()], vec![], self.now_ms())
            .await?;
        self.live().write().topics.insert(arn.clone(), topic);
        Ok(el("TopicArn", &arn))
    }

    fn topic_arn_param<'a>(&self, form: &'a Form, key: &str) -> Result<&'a str> {
        let arn = required(form, key)?;
        if model::parse_topic_arn(arn).is_none() {
            return Err(invalid(format!("Invalid parameter: {key}")));
        }
        Ok(arn)
    }

    async fn delete_topic(&self, form: &Form) -> Result<String> {
        let arn = self.topic_arn_param(form, "TopicArn")?;
        let _w = self.live().lock().await;
        let writes = {
            let st = self.live().read();
            let Some(t) = st.topics.get(arn) else {
                // Deleting a topic that does not exist succeeds, as in AWS.
                return Ok(String::new());
            };
            let mut w: Vec<_> = st.subs_of(arn).map(Subscription::delete).collect();
            w.push(store::ResourceWrite::delete(
                crate::TOPIC,
                t.region.as_str(),
                t.name.as_str(),
            ));
            w
        };
        self.live().commit(writes, vec![], self.now_ms()).await?;
        let mut st = self.live().write();
        st.topics.remove(arn);
        let prefix = format!("{arn}:");
        st.subs.retain(|k, _| !k.starts_with(&prefix));
        st.dedup.retain(|(t, _)| t != arn);
        st.sequences.remove(arn);
        Ok(String::new())
    }

    fn list_topics(&self, region: &str, form: &Form) -> Result<String> {
        let st = self.live().read();
        let (items, next) = page(
            st.topics
                .iter()
                .filter(|(_, t)| t.region == region)
                .map(|(k, t)| (k, el("TopicArn", &t.arn))),
            form.get("NextToken"),
        );
        Ok(xml::members("Topics", &items) + &next_token_xml(next))
    }

    fn get_topic_attributes(&self, form: &Form) -> Result<String> {
        let arn = self.topic_arn_param(form, "TopicArn")?;
        let st = self.live().read();
        let t = st.topics.get(arn).ok_or_else(topic_not_found)?;
        let (mut confirmed, mut pending) = (0, 0);
        for s in st.subs_of(arn) {
            if s.confirmed {
                confirmed += 1;
            } else {
                pending += 1;
            }
        }
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        m.insert("TopicArn".into(), t.arn.clone());
        m.insert("Owner".into(), wire::ACCOUNT_ID.into());
        m.insert("DisplayName".into(), String::new());
        m.insert("Policy".into(), model::default_topic_policy(&t.arn));
        m.insert("SubscriptionsConfirmed".into(), confirmed.to_string());
        m.insert("SubscriptionsPending".into(), pending.to_string());
        m.insert("SubscriptionsDeleted".into(), "0".into());
        m.insert(
            "EffectiveDeliveryPolicy".into(),
            model::default_effective_delivery_policy(),
        );
        if t.fifo() {
            m.insert("FifoTopic".into(), "true".into());
            m.insert("ContentBasedDeduplication".into(), "false".into());
        }
        for (k, v) in &t.attrs {
            m.insert(k.clone(), v.clone());
        }
        if let Some(p) = t.attrs.get("DeliveryPolicy").filter(|p| !p.is_empty()) {
            m.insert("EffectiveDeliveryPolicy".into(), p.clone());
        }
        if m.get("Policy").is_some_and(String::is_empty) {
            m.insert("Policy".into(), model::default_topic_policy(&t.arn));
        }
        Ok(xml::string_map("Attributes", &m))
    }

    async fn set_topic_attributes(&self, form: &Form) -> Result<String> {
        let arn = self.topic_arn_param(form, "TopicArn")?;
        let name = required(form, "AttributeName")?;
        let value = form.get("AttributeValue").unwrap_or_default();
        let _w = self.live().lock().await;
        let mut t = self
            .live()
            .read()
            .topics
            .get(arn)
            .cloned()
            .ok_or_else(topic_not_found)?;
        let checked = model::check_topic_attribute(name, value, t.fifo())?;
        t.attrs.insert(name.to_string(), checked);
        self.live()
            .commit(vec![t.record()], vec![], self.now_ms())
            .await?;
        self.live().write().topics.insert(arn.to_string(), t);
        Ok(String::new())
    }

    fn resource_topic(&self, form: &Form) -> Result<Topic> {
        let arn = required(form, "ResourceArn")?;
        self.live()
            .read()
            .topics
            .get(arn)
            .cloned()
            .ok_or_else(|| SnsError::ResourceNotFound("Resource does not exist".into()))
    }

    async fn tag_resource(&self, form: &Form) -> Result<String> {
        let tags = form_tags(form);
        check_tags(&tags)?;
        let _w = self.live().lock().await;
        let mut t = self.resource_topic(form)?;
        t.tags.extend(tags);
        if t.tags.len() > model::TAGS_MAX {
            return Err(SnsError::TagLimitExceeded(
                "Could not complete request: tag quota of per resource exceeded".into(),
            ));
        }
        self.live()
            .commit(vec![t.record()], vec![], self.now_ms())
            .await?;
        self.live().write().topics.insert(t.arn.clone(), t);
        Ok(String::new())
    }

    async fn untag_resource(&self, form: &Form) -> Result<String> {
        let keys = form.list("TagKeys");
        let _w = self.live().lock().await;
        let mut t = self.resource_topic(form)?;
        for k in &keys {
            t.tags.remove(k);
        }
        self.live()
            .commit(vec![t.record()], vec![], self.now_ms())
            .await?;
        self.live().write().topics.insert(t.arn.clone(), t);
        Ok(String::new())
    }

    fn list_tags(&self, form: &Form) -> Result<String> {
        let t = self.resource_topic(form)?;
        let items: Vec<String> = t
            .tags
            .iter()
            .map(|(k, v)| el("Key", k) + &el("Value", v))
            .collect();
        Ok(xml::members("Tags", &items))
    }

    // ---- subscriptions --------------------------------------------------------

    async fn subscribe(&self, form: &Form) -> Result<String> {
        let topic_arn = self.topic_arn_param(form, "TopicArn")?;
        let protocol = required(form, "Protocol")?.to_ascii_lowercase();
        let endpoint = form.get("Endpoint").unwrap_or_default();
        let protocol = Protocol::parse(&protocol, endpoint)?;
        let requested = form.string_map("Attributes");
        let mut attrs = BTreeMap::new();
        for (k, v) in &requested {
            attrs.insert(
                k.clone(),
                model::check_subscription_attribute(k, v, protocol)?,
            );
        }
        let return_arn = form
            .get("ReturnSubscriptionArn")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let _w = self.live().lock().await;
        let now = self.now_ms();
        {
            let st = self.live().read();
            let topic = st.topics.get(topic_arn).ok_or_else(topic_not_found)?;
            let fifo_queue = protocol == Protocol::Sqs && endpoint.ends_with(".fifo");
            if topic.fifo() && protocol != Protocol::Sqs {
                return Err(invalid(
                    "Invalid parameter: Endpoint Reason: FIFO SNS Topics currently only support SQS Queues as endpoints",
                ));
            }
            if !topic.fifo() && fifo_queue {
                return Err(invalid(
                    "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
                ));
            }
            let existing = st
                .subs_of(topic_arn)
                .find(|s| s.protocol == protocol && s.endpoint == endpoint);
            if let Some(s) = existing {
                if attrs.iter().any(|(k, v)| s.attrs.get(k) != Some(v)) {
                    return Err(invalid(
                        "Invalid parameter: Attributes Reason: Subscription already exists with different attributes",
                    ));
                }
                let arn = if s.confirmed || return_arn {
                    s.arn.as_str()
                } else {
                    "pending confirmation"
                };
                return Ok(el("SubscriptionArn", arn));
            }
            if st.subs_of(topic_arn).count() >= model::SUBSCRIPTIONS_PER_TOPIC_MAX {
                return Err(SnsError::SubscriptionLimitExceeded(
                    "Subscription limit exceeded".into(),
                ));
            }
        }
        let pending = protocol.is_web();
        let sub = Subscription {
            arn: format!("{topic_arn}:{}", wire::id::uuid4()),
            topic_arn: topic_arn.to_string(),
            protocol,
            endpoint: endpoint.to_string(),
            filter: Subscription::compile_filter(&attrs),
            attrs,
            confirmed: !pending,
            token: pending.then(new_token),
        };
        let mut entries = Vec::new();
        if let Some(token) = &sub.token {
            let notice = Notice {
                kind: NoticeKind::Confirmation {
                    token: token.clone(),
                },
                message_id: wire::id::uuid4(),
                topic_arn: topic_arn.to_string(),
                subject: None,
                message: model::confirmation_text(topic_arn),
                timestamp_ms: now,
                attrs: BTreeMap::new(),
                fifo: None,
            };
            entries.push(deliver_entry(&sub.arn, &notice));
        }
        self.live().commit(vec![sub.record()], entries, now).await?;
        let arn = if sub.confirmed || return_arn {
            sub.arn.clone()
        } else {
            "pending confirmation".to_string()
        };
        self.live().write().subs.insert(sub.arn.clone(), sub);
        if pending {
            self.inner.delivery.wake();
        }
        Ok(el("SubscriptionArn", &arn))
    }

    pub(crate) async fn confirm_subscription(&self, form: &Form) -> Result<String> {
        let topic_arn = self.topic_arn_param(form, "TopicArn")?;
        let token = required(form, "Token")?;
        let _w = self.live().lock().await;
        let mut sub = {
            let st = self.live().read();
            if !st.topics.contains_key(topic_arn) {
                return Err(topic_not_found());
            }
            let found = st
                .subs_of(topic_arn)
                .find(|s| s.token.as_deref() == Some(token))
                .cloned();
            found.ok_or_else(|| invalid("Invalid token"))?
        };
        if !sub.confirmed {
            sub.confirmed = true;
            self.live()
                .commit(vec![sub.record()], vec![], self.now_ms())
                .await?;
            self.live()
                .write()
                .subs
                .insert(sub.arn.clone(), sub.clone());
        }
        Ok(el("SubscriptionArn", &sub.arn))
    }

    fn subscription_arn_param<'a>(&self, form: &'a Form) -> Result<&'a str> {
        let arn = required(form, "SubscriptionArn")?;
        if model::topic_of_subscription(arn).is_none() {
            return Err(invalid("Invalid parameter: SubscriptionArn"));
        }
        Ok(arn)
    }

    async fn unsubscribe(&self, form: &Form) -> Result<String> {
        let arn = self.subscription_arn_param(form)?;
        let _w = self.live().lock().await;
        // Unsubscribing twice is no error, as on AWS.
        let Some(sub) = self.live().read().subs.get(arn).cloned() else {
            return Ok(String::new());
        };
        self.live()
            .commit(vec![sub.delete()], vec![], self.now_ms())
            .await?;
        self.live().write().subs.remove(arn);
        Ok(String::new())
    }

    fn list_subscriptions(&self, region: &str, form: &Form) -> Result<String> {
        let st = self.live().read();
        let (items, next) = page(
            st.subs
                .iter()
                .filter(|(_, s)| {
                    model::parse_topic_arn(&s.topic_arn).is_some_and(|(r, _)| r == region)
                })
                .map(|(k, s)| (k, subscription_xml(s))),
            form.get("NextToken"),
        );
        Ok(xml::members("Subscriptions", &items) + &next_token_xml(next))
    }

    fn list_subscriptions_by_topic(&self, form: &Form) -> Result<String> {
        let arn = self.topic_arn_param(form, "TopicArn")?;
        let st = self.live().read();
        if !st.topics.contains_key(arn) {
            return Err(topic_not_found());
        }
        let (items, next) = page(
            st.subs_of(arn).map(|s| (&s.arn, subscription_xml(s))),
            form.get("NextToken"),
        );
        Ok(xml::members("Subscriptions", &items) + &next_token_xml(next))
    }

    fn get_subscription_attributes(&self, form: &Form) -> Result<String> {
        let arn = self.subscription_arn_param(form)?;
        let st = self.live().read();
        let s = st.subs.get(arn).ok_or_else(subscription_not_found)?;
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        m.insert("SubscriptionArn".into(), s.arn.clone());
        m.insert("TopicArn".into(), s.topic_arn.clone());
        m.insert("Owner".into(), wire::ACCOUNT_ID.into());
        m.insert("Protocol".into(), s.protocol.as_str().into());
        m.insert("Endpoint".into(), s.endpoint.clone());
        m.insert("ConfirmationWasAuthenticated".into(), "true".into());
        m.insert("PendingConfirmation".into(), (!s.confirmed).to_string());
        m.insert("RawMessageDelivery".into(), "false".into());
        if s.protocol.is_web() {
            m.insert(
                "EffectiveDeliveryPolicy".into(),
                model::default_effective_delivery_policy(),
            );
        }
        for (k, v) in &s.attrs {
            if !v.is_empty() {
                m.insert(k.clone(), v.clone());
            }
        }
        if m.contains_key("FilterPolicy") && !m.contains_key("FilterPolicyScope") {
            m.insert("FilterPolicyScope".into(), "MessageAttributes".into());
        }
        Ok(xml::string_map("Attributes", &m))
    }

    async fn set_subscription_attributes(&self, form: &Form) -> Result<String> {
        let arn = self.subscription_arn_param(form)?;
        let name = required(form, "AttributeName")?;
        let value = form.get("AttributeValue").unwrap_or_default();
        let _w = self.live().lock().await;
        let mut sub = self
            .live()
            .read()
            .subs
            .get(arn)
            .cloned()
            .ok_or_else(subscription_not_found)?;
        let checked = model::check_subscription_attribute(name, value, sub.protocol)?;
        sub.attrs.insert(name.to_string(), checked);
        sub.filter = Subscription::compile_filter(&sub.attrs);
        self.live()
            .commit(vec![sub.record()], vec![], self.now_ms())
            .await?;
        self.live().write().subs.insert(sub.arn.clone(), sub);
        Ok(String::new())
    }

    // ---- publishing -----------------------------------------------------------

    /// The topic a Publish names (TopicArn, or a topic as TargetArn).
    fn publish_target<'a>(&self, form: &'a Form) -> Result<&'a str> {
        if form.get("PhoneNumber").is_some() {
            return Err(invalid(
                "Invalid parameter: Eddy cannot deliver SMS messages (PhoneNumber) yet.",
            ));
        }
        let arn = match (form.get("TopicArn"), form.get("TargetArn")) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "Invalid parameter: TopicArn or TargetArn Reason: Only one of them may be specified",
                ))
            }
            (Some(a), None) => a,
            (None, Some(a)) => a,
            (None, None) => {
                return Err(invalid(
                    "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
                ))
            }
        };
        if model::parse_topic_arn(arn).is_none() {
            return Err(invalid("Invalid parameter: TopicArn"));
        }
        Ok(arn)
    }

    /// Checks one message (a Publish, or one batch entry) for the topic `t`.
    fn outgoing(&self, t: &Topic, form: &Form) -> Result<Outgoing> {
        let message = form.get("Message").unwrap_or_default();
        if message.is_empty() {
            return Err(invalid("Invalid parameter: Empty message"));
        }
        let subject = form.get("Subject").map(str::to_string);
        if let Some(s) = &subject {
            model::check_subject(s)?;
        }
        let attrs = message_attrs(form)?;
        if model::message_size(message, &attrs) > model::MESSAGE_BYTES_MAX {
            return Err(invalid("Invalid parameter: Message too long"));
        }
        let structured = match form.get("MessageStructure") {
            None => None,
            Some("json") => Some(model::structured_messages(message)?),
            Some(_) => {
                return Err(invalid(
                    "Invalid parameter: MessageStructure Reason: must be json",
                ))
            }
        };
        let group = form.get("MessageGroupId");
        let dedup = form.get("MessageDeduplicationId");
        let dedup_id = if t.fifo() {
            if group.is_none_or(str::is_empty) {
                return Err(invalid(
                    "Invalid parameter: The MessageGroupId parameter is required for FIFO topics",
                ));
            }
            match dedup {
                Some(d) if !d.is_empty() => Some(d.to_string()),
                _ if t.content_dedup() => {
                    Some(format!("{:x}", Sha256::digest(message.as_bytes())))
                }
                _ => {
                    return Err(invalid(
                        "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ))
                }
            }
        } else {
            if dedup.is_some() {
                return Err(invalid(
                    "Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
                ));
            }
            None
        };
        Ok(Outgoing {
            message: message.to_string(),
            subject,
            structured,
            attrs,
            dedup_id,
            group_id: group.filter(|_| t.fifo()).map(str::to_string),
        })
    }

    fn topic(&self, arn: &str) -> Result<Topic> {
        self.live()
            .read()
            .topics
            .get(arn)
            .cloned()
            .ok_or_else(topic_not_found)
    }

    async fn publish(&self, form: &Form) -> Result<String> {
        let arn = self.publish_target(form)?;
        let t = self.topic(arn)?;
        let out = self.outgoing(&t, form)?;
        let published = self.publish_checked(arn, vec![out]).await?;
        let p = published
            .into_iter()
            .next()
            .ok_or_else(|| SnsError::Internal("Internal Error".into()))?;
        Ok(el("MessageId", &p.message_id)
            + &p.sequence
                .map(|s| el("SequenceNumber", &s))
                .unwrap_or_default())
    }

    async fn publish_batch(&self, form: &Form) -> Result<String> {
        let arn = self.topic_arn_param(form, "TopicArn")?;
        let entries = form.members("PublishBatchRequestEntries");
        if entries.is_empty() {
            return Err(SnsError::EmptyBatchRequest(
                "The batch request doesn't contain any entries".into(),
            ));
        }
        if entries.len() > model::BATCH_ENTRIES_MAX {
            return Err(SnsError::TooManyEntriesInBatchRequest(
                "The batch request contains more entries than permissible".into(),
            ));
        }
        let mut seen = HashSet::new();
        for e in &entries {
            let id = e.get("Id").unwrap_or_default();
            let ok = (1..=80).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(SnsError::InvalidBatchEntryId(
                    "The Id of a batch entry in a batch request doesn't abide by the specification"
                        .into(),
                ));
            }
            if !seen.insert(id) {
                return Err(SnsError::BatchEntryIdsNotDistinct(
                    "Two or more batch entries in the request have the same Id".into(),
                ));
            }
        }
        let total: usize = entries
            .iter()
            .map(|e| e.get("Message").map_or(0, str::len))
            .sum();
        if total > model::MESSAGE_BYTES_MAX {
            return Err(SnsError::BatchRequestTooLong(
                "The length of all the messages put together is more than the limit".into(),
            ));
        }
        let t = self.topic(arn)?;
        let mut failed = Vec::new();
        let mut ok_ids = Vec::new();
        let mut outs = Vec::new();
        for e in &entries {
            let id = e.get("Id").unwrap_or_default().to_string();
            match self.outgoing(&t, e) {
                Ok(o) => {
                    ok_ids.push(id);
                    outs.push(o);
                }
                Err(err) => {
                    let (_, code) = err.status_and_code();
                    failed.push(
                        el("Id", &id)
                            + &el("Code", code)
                            + &el("Message", &err.to_string())
                            + &el("SenderFault", "true"),
                    );
                }
            }
        }
        let published = if outs.is_empty() {
            Vec::new()
        } else {
            self.publish_checked(arn, outs).await?
        };
        let ok: Vec<String> = ok_ids
            .iter()
            .zip(published)
            .map(|(id, p)| {
                el("Id", id)
                    + &el("MessageId", &p.message_id)
                    + &p.sequence
                        .map(|s| el("SequenceNumber", &s))
                        .unwrap_or_default()
            })
            .collect();
        Ok(xml::members("Successful", &ok) + &xml::members("Failed", &failed))
    }

    /// Publishes checked messages to one topic: one outbox entry per message and
    /// matching confirmed subscription, all in one commit.
    pub(crate) async fn publish_checked(
        &self,
        topic_arn: &str,
        outs: Vec<Outgoing>,
    ) -> Result<Vec<Published>> {
        let _w = self.live().lock().await;
        let now = self.now_ms();
        let mut entries = Vec::new();
        let mut direct = Vec::new();
        let mut answers = Vec::new();
        let mut remember = Vec::new();
        let mut last_seq;
        {
            let st = self.live().read();
            let t = st.topics.get(topic_arn).ok_or_else(topic_not_found)?;
            last_seq = st.sequences.get(topic_arn).copied().unwrap_or(0);
            let subs: Vec<&Subscription> = st.subs_of(topic_arn).filter(|s| s.confirmed).collect();
            let mut batch_dedup: BTreeMap<String, usize> = BTreeMap::new();
            for o in outs {
                if let Some(d) = &o.dedup_id {
                    let key = (topic_arn.to_string(), d.clone());
                    if let Some(r) = st.dedup.get(&key, now) {
                        answers.push(Published {
                            message_id: r.message_id.clone(),
                            sequence: Some(r.sequence.clone()),
                        });
                        continue;
                    }
                    if let Some(&i) = batch_dedup.get(d) {
                        let first: &Published = &answers[i];
                        answers.push(Published {
                            message_id: first.message_id.clone(),
                            sequence: first.sequence.clone(),
                        });
                        continue;
                    }
                    batch_dedup.insert(d.clone(), answers.len());
                }
                let message_id = wire::id::uuid4();
                let sequence = t.fifo().then(|| {
                    // Sequence numbers only grow; spacing them by the clock keeps them
                    // growing across restarts too.
                    last_seq = (last_seq + 1).max((now as u128) * 1_000_000);
                    format!("{last_seq:020}")
                });
                for s in &subs {
                    if !model::passes(s.filter.as_ref(), &o.message, &o.attrs) {
                        continue;
                    }
                    let message = match &o.structured {
                        Some(m) => model::message_for(m, s.protocol),
                        None => o.message.clone(),
                    };
                    let notice = Notice {
                        kind: NoticeKind::Notification,
                        message_id: message_id.clone(),
                        topic_arn: topic_arn.to_string(),
                        subject: o.subject.clone(),
                        message,
                        timestamp_ms: now,
                        attrs: o.attrs.clone(),
                        fifo: o.group_id.clone().zip(o.dedup_id.clone()),
                    };
                    if t.fifo() && s.protocol == Protocol::Sqs {
                        // The outbox delivers entries concurrently; a FIFO topic's order
                        // holds only if its messages reach the queues in publish order.
                        direct.push(((*s).clone(), notice));
                    } else {
                        entries.push(deliver_entry(&s.arn, &notice));
                    }
                }
                if let (Some(d), Some(seq)) = (&o.dedup_id, &sequence) {
                    remember.push((
                        (topic_arn.to_string(), d.clone()),
                        Remembered {
                            message_id: message_id.clone(),
                            sequence: seq.clone(),
                        },
                    ));
                }
                answers.push(Published {
                    message_id,
                    sequence,
                });
            }
        }
        // FIFO topics: sent in order while the writer lock holds other publishes back; a
        // send that fails goes to the outbox, which retries it (and dead-letters it).
        for (sub, notice) in direct {
            if let Err(e) = crate::deliver::to_queue(self, &sub, &notice).await {
                tracing::warn!(
                    "FIFO delivery to {} failed, retrying later: {e}",
                    sub.endpoint
                );
                entries.push(deliver_entry(&sub.arn, &notice));
            }
        }
        let wake = !entries.is_empty();
        self.live().commit(vec![], entries, now).await?;
        {
            let mut st = self.live().write();
            st.dedup.forget_expired(now);
            for (key, r) in remember {
                st.dedup.insert(key, r, now + model::DEDUP_WINDOW_MS);
            }
            if last_seq > 0 {
                st.sequences.insert(topic_arn.to_string(), last_seq);
            }
        }
        if wake {
            self.inner.delivery.wake();
        }
        Ok(answers)
    }

    /// Publishes a message another service addressed to a topic (an `sns-publish`
    /// outbox entry) with string attributes.
    pub(crate) async fn publish_from_entry(
        &self,
        topic_arn: &str,
        message: String,
        attributes: BTreeMap<String, String>,
    ) -> Result<String> {
        let t = self.topic(topic_arn)?;
        let mut pairs = vec![("Message".to_string(), message)];
        for (i, (k, v)) in attributes.iter().enumerate() {
            let p = format!("MessageAttributes.entry.{}", i + 1);
            pairs.push((format!("{p}.Name"), k.clone()));
            pairs.push((format!("{p}.Value.DataType"), "String".into()));
            pairs.push((format!("{p}.Value.StringValue"), v.clone()));
        }
        if t.fifo() {
            pairs.push(("MessageGroupId".into(), "eddy".into()));
        }
        let mut out = self.outgoing(&t, &Form::new(pairs))?;
        if t.fifo() && out.dedup_id.is_none() {
            out.dedup_id = Some(wire::id::uuid4());
        }
        let p = self.publish_checked(topic_arn, vec![out]).await?;
        Ok(p.into_iter()
            .next()
            .map(|p| p.message_id)
            .unwrap_or_default())
    }
}

/// The outbox entry that delivers `notice` to the subscription `sub_arn`.
fn deliver_entry(sub_arn: &str, notice: &Notice) -> NewEntry {
    NewEntry {
        kind: DELIVER_KIND.into(),
        target: sub_arn.to_string(),
        payload: notice.to_json().to_string().into_bytes(),
        meta: "{}".into(),
        not_before_ms: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        let keys: Vec<String> = (0..250).map(|i| format!("k{i:03}")).collect();
        let items = || keys.iter().map(|k| (k, k.clone()));
        let (first, next) = page(items(), None);
        assert_eq!(first.len(), 100);
        assert_eq!(next.as_deref(), Some("k099"));
        let (second, next) = page(items(), next.as_deref());
        assert_eq!(second[0], "k100");
        let (third, next) = page(items(), next.as_deref());
        assert_eq!(third.len(), 50);
        assert_eq!(next, None);
        assert_eq!(new_token().len(), 64);
    }

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[tokio::test]
    async fn a_subscribe_url_confirms_and_queues_the_confirmation() {
        let db = std::sync::Arc::new(store::SqliteStore::in_memory().unwrap());
        let clock: std::sync::Arc<dyn wire::time::Clock> =
            std::sync::Arc::new(wire::time::ManualClock::new(1_000));
        let delivery = delivery::Delivery::new(db.clone(), clock.clone(), Default::default());
        let sqs = sqs::Sqs::open(db.clone(), clock.clone(), Default::default()).unwrap();
        let sns = Sns::open(
            db.clone(),
            delivery.clone(),
            sqs,
            clock,
            crate::SnsConfig {
                public_base: "http://127.0.0.1:9".into(),
            },
        )
        .unwrap();
        let topic = "arn:aws:sns:us-east-1:000000000000:t";
        sns.create_topic("us-east-1", &form(&[("Name", "t")]))
            .await
            .unwrap();
        let answer = sns
            .subscribe(&form(&[
                ("TopicArn", topic),
                ("Protocol", "http"),
                ("Endpoint", "http://127.0.0.1:9/hook"),
            ]))
            .await
            .unwrap();
        assert_eq!(answer, el("SubscriptionArn", "pending confirmation"));
        assert_eq!(delivery.pending(), 1);
        let token = {
            let st = sns.live().read();
            let token = st.subs_of(topic).next().unwrap().token.clone();
            token.unwrap()
        };
        let query = vec![
            ("Action".to_string(), "ConfirmSubscription".to_string()),
            ("TopicArn".to_string(), topic.to_string()),
            ("Token".to_string(), token),
        ];
        let resp = sns.confirm_by_url(&query).await;
        assert_eq!(resp.status(), http::StatusCode::OK);
        let confirmed = sns.live().read().subs_of(topic).all(|s| s.confirmed);
        assert!(confirmed);
        let bad = vec![
            ("TopicArn".to_string(), topic.to_string()),
            ("Token".to_string(), "nope".to_string()),
        ];
        assert_eq!(
            sns.confirm_by_url(&bad).await.status(),
            http::StatusCode::BAD_REQUEST
        );
    }
}
