"""The triage use case: raw inputs (mails, Health events) read, judged and filed into cases."""

from noticedesk.triage.result import TriageResult
from noticedesk.triage.run import BATCH_SIZE, Triage

__all__ = ["BATCH_SIZE", "Triage", "TriageResult"]
