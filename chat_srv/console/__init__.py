"""The administrator's console: a pure command parser and executor, and a thin shell.

`commands` parses a line and runs it through `chat_srv.admin.Admin`, answering
with a Rich renderable; `shell.run_console` is the interactive prompt around it.
"""
