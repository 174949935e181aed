"""Cases: the tracked unit of work, with clocks, a checklist from the runbook and a timeline."""
