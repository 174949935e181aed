"""What NoticeDesk does on an AWS account for a case, and the record it keeps of it.

``aws/`` reads and acts on AWS only; this package, one floor up, writes what it found and did onto
the case: the notice cross-checked with AWS (``verification``), a diagnosis's findings
(``diagnoses``), fixes through one guarded runner (``runner``) with their audit trail (``audit``)
and the claims that keep two runs off one action (``claims``).
"""
