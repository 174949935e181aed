from noticedesk.cli import main

main()
