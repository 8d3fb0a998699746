"""Websocket routes. Consumers are thin: authorise on connect, join groups, push fragments."""

websocket_urlpatterns: list = []
