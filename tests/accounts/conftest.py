"""The accounts tests' trader: a user, and a test client logged in as them."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def trader(django_user_model):
    return django_user_model.objects.create_user(username="trader", password="pw-trader-1")


@pytest.fixture
def client(trader) -> Client:
    client = Client()
    client.force_login(trader)
    return client
