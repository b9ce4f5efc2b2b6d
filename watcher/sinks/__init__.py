"""Where events go: signed webhooks and Apprise chat services, one send at a time.

Each sink function makes one delivery attempt and describes its outcome as a `SendResult`;
deciding whether and when to try again belongs to the dispatcher.
"""
