"""chat-tui, the Textual client of the chat suite.

`client`, `state`, `session`, `commands` and `config` know nothing of Textual (the
data layer); `app`, `screens` and `widgets` are the user interface built on them.
"""

DEFAULT_PORT = 7878
"""The server's default port; the same number as `chat_srv.config.DEFAULT_PORT`,
repeated here because the client never imports the server."""
