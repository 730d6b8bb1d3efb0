"""Constants and types shared by the serve tests (the fixture itself is in conftest.py)."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog, Product

LOCAL = "http://localhost"
KEY = "k" * 20  # a valid API key (16+ printable characters)

MakeClient = Callable[..., TestClient]

# a tiny made-up Chinese store (id, title, category path, price): the storefront speaks Chinese for it
ZH_PRODUCTS = [
    ("z1", "女士黑色连衣裙 夏季新款", ("女装", "连衣裙"), 199.0),
    ("z2", "红色碎花连衣裙 收腰显瘦", ("女装", "连衣裙"), 159.0),
    ("z3", "男士休闲裤 宽松直筒", ("男装", "裤子"), 129.0),
    ("z4", "黑色运动鞋 男女同款 透气", ("鞋靴", "运动鞋"), 299.0),
    ("z5", "白色帆布鞋 百搭小白鞋", ("鞋靴", "帆布鞋"), 89.0),
    ("z6", "真皮腰带 男士商务", ("配饰", "腰带"), 79.0),
]


def zh_catalog() -> Catalog:
    return Catalog([Product(id=i, title=t, category=c, price=p) for i, t, c, p in ZH_PRODUCTS])


def free_port(low: int = 8100, high: int = 8199) -> int:
    """A free port among those the project's tests may use (from a random one on: peers run too)."""
    first = random.randint(low, high)
    for port in [*range(first, high + 1), *range(low, first)]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip(f"no free port in {low}-{high}")
