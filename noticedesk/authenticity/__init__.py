"""Is this mail really from AWS? The verdict that gates every action on an account.

``assess`` gathers the evidence (DKIM with dkimpy, ARC, trusted receivers' Authentication-Results,
sender lookalikes, deceptive links, bait) and ``verdict.judge`` decides. See docs/authenticity.md.
"""

from noticedesk.authenticity.assess import assess
from noticedesk.authenticity.verdict import Evidence, Reason, Verdict, judge

__all__ = ["Evidence", "Reason", "Verdict", "assess", "judge"]
