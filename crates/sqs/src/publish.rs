//! Sends from other services that carry typed message attributes (SNS raw message
//! delivery), beside `send_to_arn`, which only takes strings.

use crate::error::SqsError;
use crate::model::{self, AttrValue};
use crate::{Outgoing, Sqs};
use std::collections::BTreeMap;

impl Sqs {
    /// Sends `body` with typed attributes to the queue `arn` and answers the message id.
    /// The message is checked as SendMessage checks it (size, characters, attribute
    /// names and count). `fifo` is the message group and deduplication id for a FIFO
    /// queue (without them, one group and no deduplication).
    pub async fn send_typed_to_arn(
        &self,
        arn: &str,
        body: String,
        attrs: BTreeMap<String, AttrValue>,
        fifo: Option<(String, String)>,
    ) -> Result<String, SqsError> {
        let (region, name) = model::parse_queue_arn(arn).ok_or(SqsError::QueueDoesNotExist)?;
        if attrs.len() > model::MESSAGE_ATTRIBUTES_MAX {
            return Err(SqsError::InvalidParameterValue(format!(
                "Number of message attributes [{}] exceeds the allowed maximum [{}].",
                attrs.len(),
                model::MESSAGE_ATTRIBUTES_MAX
            )));
        }
        if let Some(bad) = attrs.keys().find(|k| !model::valid_attribute_name(k)) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Message (user) attribute name '{bad}' is invalid."
            )));
        }
        let bytes_max = {
            let st = self.live().read();
            st.queues
                .get(&(region.clone(), name.clone()))
                .ok_or(SqsError::QueueDoesNotExist)?
                .attrs
                .message_bytes_max
        };
        model::check_message(&body, &attrs, bytes_max)?;
        let sent = self
            .send_messages(
                &region,
                &name,
                vec![Outgoing {
                    body,
                    attrs,
                    delay_s: None,
                    fifo: if model::is_fifo_name(&name) {
                        fifo.or_else(|| crate::fifo_fallback(&name))
                    } else {
                        None
                    },
                    trace_header: None,
                }],
            )
            .await?;
        Ok(sent.into_iter().next().map(|s| s.id).unwrap_or_default())
    }
}
