"""Websocket routes. Consumers are thin: authorise on connect, join groups, push fragments."""

from django.urls import path

from .consumers import TowerConsumer

websocket_urlpatterns = [
    path("ws/tower/", TowerConsumer.as_asgi()),
]
