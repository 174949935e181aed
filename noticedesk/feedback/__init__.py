"""The SES feedback loop: SNS webhook, SQS consumer and file import → events, suppression, rates."""
