"""The accounts registry: which AWS accounts NoticeDesk looks after, who owns them, how to reach them."""
