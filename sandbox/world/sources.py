"""Source trees and test catalogues for the sandbox repositories.

Each repository gets a real-looking tree at its main head (README, pipelines config, dependency
manifests, config files, code in its language, tests) with findable symbols, and a catalogue of test
cases that the pipeline logs and test reports draw from. Deterministic: no randomness here.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from bbscout.sandbox.world.content import RepoSpec, pipelines_yml


@dataclass(frozen=True)
class TestDef:
    """One test case: how reports and logs name it, and the source file it exercises."""

    name: str  # short name
    fqn: str  # fully qualified (pytest node id, Go package test, jest path › title, JVM class.method)
    file: str  # test file path
    line: int
    target: str  # source file the test exercises (for stack traces)
    skipped: bool = False


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[-_/.]", name) if p)


def _const_value(name: str, lang: str) -> str:
    if name.endswith("_MS"):
        return "3000" if lang != "go" else "3000 * time.Millisecond"
    if name.endswith("_SECONDS"):
        return "30"
    if name.startswith("MAX") or name.endswith(("SIZE", "ROWS")):
        return "500"
    if name.startswith("DEFAULT"):
        return "3"
    if name.endswith("ENABLED"):
        return {"python": "True", "typescript": "true", "kotlin": "true", "go": "true"}[lang]
    if name.endswith("VERSION"):
        return '"2.14.0"'
    if name.endswith("BUCKET"):
        return '"acme-analytics-exports"'
    if name.endswith("URL"):
        return '"https://api.acme-commerce.com"'
    if name == "UPSTREAMS":
        return (
            '{\n    "orders": "http://order-service.internal:8080",\n    "checkout": '
            '"http://checkout-service.internal:8080",\n    "payments": '
            '"http://payments-service.internal:8080",\n}'
        )
    if name == "TAX_RATES":
        return (
            '{\n    "DE": Decimal("0.19"),\n    "FR": Decimal("0.20"),\n    "GB": Decimal("0.20"),\n   '
            ' "US-CA": Decimal("0.0725"),\n    "US-NY": Decimal("0.04"),\n}'
        )
    if name == "REDACT_KEYS":
        return '("authorization", "password", "card_number", "cvv", "token")'
    return "10"


# ---------------------------------------------------------------------------------------- python


def _py_module(spec: RepoSpec, module: str, symbols: tuple[str, ...]) -> str:
    doc = f"{module.replace('_', ' ').capitalize()} for the {spec.slug.replace('-', ' ')}."
    out = [f'"""{doc}"""', "", "from __future__ import annotations", "", "import logging"]
    if any(s == "TAX_RATES" for s in symbols) or module == "tax":
        out.append("from decimal import ROUND_HALF_UP, Decimal")
    out += [
        "from dataclasses import dataclass, field",
        "from typing import Any",
        "",
        "logger = logging.getLogger(__name__)",
        "",
    ]
    for sym in symbols:
        if sym.isupper():
            out.append(f"{sym} = {_const_value(sym, 'python')}")
    out.append("")
    for sym in symbols:
        if sym.isupper():
            continue
        if sym[0].isupper():
            out += [
                "",
                "@dataclass",
                f"class {sym}:",
                f'    """{_snake(sym).replace("_", " ").capitalize()}; cheap to construct, safe to share."""',
                "",
                '    base_url: str = ""',
                "    timeout_ms: int = 3000",
                "    retries: int = 2",
                "    _session: Any = field(default=None, repr=False)",
                "",
                "    def close(self) -> None:",
                "        if self._session is not None:",
                "            self._session.close()",
                "            self._session = None",
                "",
            ]
        else:
            out += [
                "",
                f"def {sym}(payload: dict[str, Any], *, timeout_ms: int = 3000) -> dict[str, Any]:",
                f'    """{sym.replace("_", " ").capitalize()}; returns only the fields callers rely on."""',
                "    if not payload:",
                f'        logger.warning("{sym}: empty payload")',
                "        return {}",
                "    result = {key: value for key, value in payload.items() if value is not None}",
                f'    logger.debug("{sym} done", extra={{"keys": len(result), "timeout_ms": timeout_ms}})',
                "    return result",
                "",
            ]
    return "\n".join(out).rstrip() + "\n"


_CHECKOUT_TAX = '''"""Tax calculation for checkout: per-line VAT/sales tax by shipping region."""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal

from checkout.cart import Cart

logger = logging.getLogger(__name__)

TAX_RATES = {
    "DE": Decimal("0.19"),
    "FR": Decimal("0.20"),
    "GB": Decimal("0.20"),
    "US-CA": Decimal("0.0725"),
    "US-NY": Decimal("0.04"),
}
CENT = Decimal("0.01")


def tax_rate_for_region(region: str) -> Decimal:
    """The rate for a shipping region; unknown regions are taxed at zero and logged."""
    rate = TAX_RATES.get(region.upper())
    if rate is None:
        logger.warning("no tax rate for region %s", region)
        return Decimal("0")
    return rate


def calculate_tax(cart: Cart | None, region: str) -> Decimal:
    """Tax for the whole cart, rounded per line so totals match the invoice."""
    if cart is None or not cart.items:
        return Decimal("0.00")
    rate = tax_rate_for_region(region)
    total = Decimal("0")
    for item in cart.items:
        line = (item.unit_price * item.quantity * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        total += line
    return total
'''

_CHECKOUT_SETTINGS = '''"""Runtime settings for checkout, read from the environment and config/<env>.yaml."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CHECKOUT_TIMEOUT_MS = int(os.getenv("CHECKOUT_TIMEOUT_MS", "8000"))


@dataclass(frozen=True)
class Settings:
    env: str
    payments_url: str
    payments_timeout_ms: int
    db_pool_size: int
    checkout_timeout_ms: int = CHECKOUT_TIMEOUT_MS


@lru_cache
def get_settings() -> Settings:
    env = os.getenv("APP_ENV", "development")
    raw = yaml.safe_load(Path(f"config/{env}.yaml").read_text())
    return Settings(
        env=env,
        payments_url=raw["payments"]["base_url"],
        payments_timeout_ms=int(raw["payments"]["client_timeout_ms"]),
        db_pool_size=int(raw["database"]["pool_size"]),
    )
'''

_GATEWAY_RATELIMIT = '''"""Token-bucket rate limiting per API client, with per-client overrides."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

DEFAULT_BURST = 50
DEFAULT_RATE_PER_SECOND = 20.0


@dataclass(frozen=True)
class ClientOverride:
    client_id: str
    rate_per_second: float
    burst: int = DEFAULT_BURST


@dataclass
class RateLimiter:
    """One bucket per client id; overrides replace the defaults for that client only."""

    overrides: dict[str, ClientOverride] = field(default_factory=dict)
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, client_id: str, now: float | None = None) -> bool:
        rate, burst = resolve_limit(client_id, self.overrides)
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(client_id, (float(burst), now))
        tokens = min(float(burst), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[client_id] = (tokens, now)
            return False
        self._buckets[client_id] = (tokens - 1.0, now)
        return True


def resolve_limit(client_id: str, overrides: dict[str, ClientOverride]) -> tuple[float, int]:
    """The (rate, burst) for a client: its override when present, else the defaults."""
    override = overrides.get(client_id)
    if override is None:
        return DEFAULT_RATE_PER_SECOND, DEFAULT_BURST
    return override.rate_per_second, override.burst
'''

_CHECKOUT_INTEGRATION_CART = '''\
"""Integration tests for cart and order placement against Postgres and Redis."""

from __future__ import annotations

import asyncio

import pytest

from checkout.cart import Cart, add_item
from checkout.orders import place_order


@pytest.mark.integration
def test_add_item_persists(db):
    cart = Cart()
    add_item({"cart": cart, "sku": "SKU-1001", "quantity": 2})
    assert db.fetch_cart(cart).items


@pytest.mark.integration
async def test_concurrent_checkout(db, redis):
    """Two submits of the same cart must create exactly one order."""
    cart = await db.create_cart(items=[("SKU-1001", 1)])
    results = await asyncio.gather(
        place_order({"cart": cart}), place_order({"cart": cart}), return_exceptions=True
    )
    orders = [r for r in results if not isinstance(r, Exception)]
    assert len(orders) == 1


@pytest.mark.integration
def test_reserved_stock_released_on_decline(db):
    cart = Cart()
    add_item({"cart": cart, "sku": "SKU-2002", "quantity": 1})
    with pytest.raises(Exception):
        place_order({"cart": cart, "card": "4000000000000002"})
    assert db.reserved("SKU-2002") == 0
'''


def _yaml_config(spec: RepoSpec, env: str) -> str:
    prod = env == "production"
    lines = [
        f"# {spec.slug} configuration for {env}",
        f"service: {spec.slug}",
        "log_level: " + ("info" if prod else "debug"),
    ]
    lines += ["server:", "  port: 8080", f"  workers: {8 if prod else 2}", "  request_timeout_ms: 10000"]
    if spec.slug == "checkout-service":
        lines += [
            "payments:",
            f"  base_url: http://payments-service.{'prod' if prod else env}.internal:8080",
            "  client_timeout_ms: 3000",
            "  retries: 2",
            "database:",
            f"  host: checkout-db.{'prod' if prod else env}.internal",
            f"  pool_size: {20 if prod else 5}",
            "  statement_timeout_ms: 5000",
            "redis:",
            f"  url: redis://checkout-cache.{'prod' if prod else env}.internal:6379/0",
            "features:",
            "  gift_cards: true",
            "  ca_provincial_tax: " + ("false" if prod else "true"),
        ]
    else:
        lines += [
            "database:",
            f"  host: {spec.slug.replace('-service', '')}-db.{'prod' if prod else env}.internal",
            f"  pool_size: {15 if prod else 5}",
            "http_client:",
            "  timeout_ms: 5000",
            "  retries: 3",
            "metrics:",
            "  enabled: true",
        ]
    return "\n".join(lines) + "\n"


def _py_tree(spec: RepoSpec, files: dict[str, str]) -> None:
    pkg = spec.pkg
    files["requirements.txt"] = "".join(f"{n}=={v}\n" for n, v in spec.deps) + (
        "PyYAML==6.0.1\n" if spec.slug == "checkout-service" else ""
    )
    files["requirements-dev.txt"] = (
        "pytest==8.2.0\npytest-asyncio==0.23.6\npytest-cov==5.0.0\nfreezegun==1.5.0\nruff==0.4.4\nmypy==1.10.0\n"
    )
    files["pyproject.toml"] = (
        f'[project]\nname = "{spec.slug}"\nversion = "1.0.0"\nrequires-python = ">=3.11"\n\n'
        "[tool.ruff]\nline-length = 110\n\n[tool.pytest.ini_options]\ntestpaths = "
        '["tests"]\nasyncio_mode = "auto"\n'
    )
    files["Dockerfile"] = (
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install "
        "--no-cache-dir -r requirements.txt\n"
        'COPY src/ src/\nCOPY config/ config/\nENV PYTHONPATH=/app/src\nCMD ["uvicorn", '
        f'"{pkg}.app:app", "--host", "0.0.0.0", "--port", "8080"]\n'
    )
    files[f"src/{pkg}/__init__.py"] = f'"""{spec.description}"""\n'
    for module, symbols in spec.modules:
        files[f"src/{pkg}/{module}.py"] = _py_module(spec, module, symbols)
    if spec.slug == "checkout-service":
        files[f"src/{pkg}/tax.py"] = _CHECKOUT_TAX
        files[f"src/{pkg}/settings.py"] = _CHECKOUT_SETTINGS
        files["tests/integration/test_cart.py"] = _CHECKOUT_INTEGRATION_CART
        files["docker-compose.ci.yml"] = (
            "services:\n  postgres:\n    image: postgres:16\n    environment:\n      "
            "POSTGRES_PASSWORD: ci\n  redis:\n    image: redis:7\n"
        )
    if spec.slug == "api-gateway":
        files[f"src/{pkg}/ratelimit.py"] = _GATEWAY_RATELIMIT
    files["tests/__init__.py"] = ""
    files["tests/conftest.py"] = (
        '"""Shared fixtures."""\n\nimport pytest\n\n\n@pytest.fixture\ndef anyio_backend():\n    '
        'return "asyncio"\n'
    )


def _py_test_file(module: str, tests: list[TestDef], pkg: str) -> str:
    out = [
        f'"""Unit tests for {pkg}.{module}."""',
        "",
        "import pytest",
        "",
        f"from {pkg} import {module}",
        "",
    ]
    for t in tests:
        out += ["", f"def {t.name}():", f"    result = {module}.__name__", "    assert result", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------- go


def _go_file(spec: RepoSpec, module: str, symbols: tuple[str, ...]) -> str:
    out = [
        f"// Package {module} implements {module} handling for {spec.slug}.",
        f"package {module}",
        "",
        "import (",
        '\t"context"',
        '\t"errors"',
        '\t"time"',
        ")",
        "",
    ]
    for sym in symbols:
        if sym.startswith("Err"):
            out.append(f'var {sym} = errors.New("{module}: {_snake(sym[3:]).replace("_", " ")}")')
        elif sym.endswith(("Timeout", "TTL")):
            out.append(f"const {sym} = {'15 * time.Minute' if sym.endswith('TTL') else '3 * time.Second'}")
    out.append("")
    for sym in symbols:
        if sym.startswith("Err") or sym.endswith(("Timeout", "TTL")):
            continue
        if sym.endswith(("Client", "Service", "Handler", "Store", "Ledger")) or sym in ("Claims", "Store"):
            out += [
                f"// {sym} is safe for concurrent use.",
                f"type {sym} struct {{",
                "\tbaseURL string",
                "\ttimeout time.Duration",
                "\tretries int",
                "}",
                "",
                f"// New{sym} returns a {sym} with production defaults.",
                f"func New{sym}(baseURL string) *{sym} {{",
                f"\treturn &{sym}{{baseURL: baseURL, timeout: 3 * time.Second, retries: 2}}",
                "}",
                "",
            ]
        else:
            out += [
                f"// {sym} runs one request with the configured timeout.",
                f"func {sym}(ctx context.Context, id string) error {{",
                '\tif id == "" {',
                f'\t\treturn errors.New("{module}: empty id")',
                "\t}",
                "\tctx, cancel := context.WithTimeout(ctx, 3*time.Second)",
                "\tdefer cancel()",
                "\t<-ctx.Done()",
                "\treturn nil",
                "}",
                "",
            ]
    return "\n".join(out)


def _go_tree(spec: RepoSpec, files: dict[str, str]) -> None:
    req = "\n".join(f"\t{n} {v}" for n, v in spec.deps)
    files["go.mod"] = f"module bitbucket.org/acme/{spec.slug}\n\ngo 1.22\n\nrequire (\n{req}\n)\n"
    files["cmd/server/main.go"] = (
        'package main\n\nimport (\n\t"log"\n\t"net/http"\n)\n\nfunc main() {\n'
        f'\tlog.Printf("starting {spec.slug} on :8080")\n\tlog.Fatal(http.ListenAndServe(":8080", '
        f"routes()))\n}}\n"
    )
    files["Makefile"] = "test:\n\tgo test ./... -race\n\nlint:\n\tgolangci-lint run\n"
    files["Dockerfile"] = (
        "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/server "
        "./cmd/server\n\nFROM gcr.io/distroless/base\nCOPY --from=build /out/server "
        '/server\nENTRYPOINT ["/server"]\n'
    )
    for module, symbols in spec.modules:
        files[f"internal/{module}/{module}.go"] = _go_file(spec, module, symbols)


# ---------------------------------------------------------------------------------------- typescript


def _ts_file(spec: RepoSpec, module: str, symbols: tuple[str, ...]) -> str:
    out = [f"// {module.split('/')[-1]}: part of {spec.slug}.", ""]
    react = module.startswith(("components/", "pages/"))
    if react:
        out += ["import React from 'react';", ""]
    for sym in symbols:
        if sym.isupper():
            out.append(f"export const {sym} = {_const_value(sym, 'typescript')};")
    out.append("")
    for sym in symbols:
        if sym.isupper():
            continue
        if react and sym[0].isupper() and not sym.endswith("Error"):
            out += [
                f"export interface {sym}Props {{",
                "  currency?: string;",
                "  loading?: boolean;",
                "}",
                "",
                f"export function {sym}({{ currency = 'EUR', loading = false }}: {sym}Props) {{",
                "  if (loading) {",
                '    return <div className="skeleton" aria-busy="true" />;',
                "  }",
                f'  return <section data-testid="{_snake(sym)}">{{currency}}</section>;',
                "}",
                "",
            ]
        elif sym[0].isupper():
            out += [
                "@Injectable()" if spec.slug == "notification-service" else f"/** {sym}. */",
                f"export class {sym} {{",
                "  private readonly timeoutMs = 5000;",
                "",
                "  async send(payload: Record<string, unknown>): Promise<void> {",
                "    if (!payload) {",
                f"      throw new Error('{sym}: empty payload');",
                "    }",
                "  }",
                "}",
                "",
            ]
        else:
            out += [
                (
                    f"export async function {sym}(input: Record<string, unknown>): "
                    f"Promise<Record<string, unknown>> {{"
                ),
                "  const entries = Object.entries(input).filter(([, v]) => v !== undefined);",
                "  return Object.fromEntries(entries);",
                "}",
                "",
            ]
    if spec.slug == "notification-service":
        out.insert(0, "import { Injectable } from '@nestjs/common';")
    return "\n".join(out)


def _ts_tree(spec: RepoSpec, files: dict[str, str]) -> None:
    dev = {"typescript", "jest", "eslint"}
    deps = ",\n".join(f'    "{n}": "^{v}"' for n, v in spec.deps if n not in dev)
    dev_deps = ",\n".join(f'    "{n}": "^{v}"' for n, v in spec.deps if n in dev)
    scripts = (
        '"build": "next build",\n    "start": "next start"'
        if spec.slug == "web-frontend"
        else '"build": "nest build",\n    "start": "node dist/main.js"'
    )
    files["package.json"] = (
        f'{{\n  "name": "@acme/{spec.slug}",\n  "version": "1.0.0",\n  "private": true,\n  '
        f'"scripts": {{\n    {scripts},\n'
        '    "test": "jest",\n    "lint": "eslint . --ext .ts,.tsx"\n  },\n'
        f'  "dependencies": {{\n{deps}\n  }},\n  "devDependencies": {{\n{dev_deps}\n  }}\n}}\n'
    )
    files["package-lock.json"] = npm_lockfile(spec, dev)
    files["tsconfig.json"] = (
        '{\n  "compilerOptions": {\n    "target": "ES2022",\n    "module": "commonjs",\n    '
        '"strict": true,\n    "jsx": "preserve",\n    "outDir": "dist"\n  }\n}\n'
    )
    files[".eslintrc.json"] = (
        '{\n  "extends": ["eslint:recommended", "plugin:@typescript-eslint/recommended"]\n}\n'
    )
    files["jest.config.js"] = "module.exports = { preset: 'ts-jest', testEnvironment: 'node' };\n"
    if spec.slug == "web-frontend":
        files["next.config.js"] = (
            "module.exports = {\n  reactStrictMode: true,\n  i18n: { locales: ['en', 'de', 'fr'], "
            "defaultLocale: 'en' },\n};\n"
        )
    else:
        files["src/main.ts"] = (
            "import { NestFactory } from '@nestjs/core';\nimport { AppModule } from "
            "'./app.module';\n\nasync function bootstrap() {\n  const app = await "
            "NestFactory.create(AppModule);\n  await app.listen(8080);\n}\nbootstrap();\n"
        )
    for module, symbols in spec.modules:
        ext = "tsx" if module.startswith(("components/", "pages/")) else "ts"
        files[f"src/{module}.{ext}"] = _ts_file(spec, module, symbols)


def lockfile_entry(name: str, version: str) -> list[str]:
    """The lines of one package in package-lock.json (what `npm ci` installs from)."""
    tarball = f"https://registry.npmjs.org/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
    digest = base64.b64encode(hashlib.sha512(f"{name}@{version}".encode()).digest()).decode()
    return [
        f'    "node_modules/{name}": {{',
        f'      "version": "{version}",',
        f'      "resolved": "{tarball}",',
        f'      "integrity": "sha512-{digest}",',
        '      "license": "MIT"',
        "    },",
    ]


def npm_lockfile(spec: RepoSpec, dev: set[str]) -> str:
    deps = {"dependencies": [d for d in spec.deps if d[0] not in dev]}
    deps["devDependencies"] = [d for d in spec.deps if d[0] in dev]
    root = [f'      "name": "@acme/{spec.slug}",', '      "version": "1.0.0",']
    for key, items in deps.items():
        root += [f'      "{key}": {{'] + [f'        "{n}": "^{v}",' for n, v in items] + ["      },"]
    lines = ["{", f'  "name": "@acme/{spec.slug}",', '  "version": "1.0.0",', '  "lockfileVersion": 3,']
    lines += ['  "requires": true,', '  "packages": {', '    "": {', *root, "    },"]
    for n, v in sorted(spec.deps):
        lines += lockfile_entry(n, v)
    return "\n".join(lines) + "\n  }\n}\n"


# ---------------------------------------------------------------------------------------- kotlin / hcl


def _kt_tree(spec: RepoSpec, files: dict[str, str]) -> None:
    files["settings.gradle.kts"] = 'rootProject.name = "acme-shop"\ninclude(":shared", ":androidApp")\n'
    deps = "\n".join(f'    implementation("{n}:{v}")' for n, v in spec.deps)
    files["shared/build.gradle.kts"] = (
        f'plugins {{\n    kotlin("multiplatform")\n}}\n\ndependencies {{\n{deps}\n}}\n'
    )
    files["gradle.properties"] = (
        "org.gradle.jvmargs=-Xmx3g\nkotlin.code.style=official\nVERSION_NAME=4.12.0\nVERSION_CODE=41200\n"
    )
    files["androidApp/src/main/AndroidManifest.xml"] = (
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android">\n    '
        '<uses-permission android:name="android.permission.INTERNET" />\n</manifest>\n'
    )
    for module, symbols in spec.modules:
        pkg = "com.acme.shop." + ".".join(module.split("/")[:-1]).lower()
        body = [f"package {pkg}", "", "import kotlinx.coroutines.flow.MutableStateFlow", ""]
        for sym in symbols:
            if sym.isupper():
                body.append(f"const val {sym} = 15_000L")
            elif sym[0].isupper():
                body += [
                    "",
                    f"class {sym}(private val api: Any? = null) {{",
                    "    val state = MutableStateFlow<List<String>>(emptyList())",
                    "}",
                ]
            else:
                body += [
                    "",
                    f"suspend fun {sym}(code: String): Boolean {{",
                    "    return code.isNotBlank()",
                    "}",
                ]
        files[f"shared/src/commonMain/kotlin/com/acme/shop/{module}.kt"] = "\n".join(body) + "\n"


def _hcl_tree(spec: RepoSpec, files: dict[str, str]) -> None:
    files["versions.tf"] = (
        'terraform {\n  required_version = ">= 1.7"\n  required_providers {\n    aws = {\n      '
        'source  = "hashicorp/aws"\n      version = "~> 5.47"\n    }\n  }\n}\n'
    )
    for module, symbols in spec.modules:
        name = module.split("/")[-1]
        res = "\n".join(f'resource "{s}" "{name}" {{\n  tags = var.tags\n}}\n' for s in symbols)
        files[f"{module}/main.tf"] = res
        files[f"{module}/variables.tf"] = 'variable "tags" {\n  type    = map(string)\n  default = {}\n}\n'
    for env in ("staging", "production"):
        files[f"envs/{env}/main.tf"] = (
            f'module "eks" {{\n  source       = "../../modules/eks"\n  cluster_name = '
            f'"acme-{env}"\n  node_count   = {6 if env == "production" else 2}\n}}\n\n'
            f'module "checkout_db" {{\n  source         = "../../modules/rds"\n  instance_class = '
            f'"{"db.r6g.xlarge" if env == "production" else "db.t4g.medium"}"\n  max_connections = '
            f"{400 if env == 'production' else 100}\n}}\n"
        )
        files[f"envs/{env}/backend.tf"] = (
            f'terraform {{\n  backend "s3" {{\n    bucket = "acme-terraform-state"\n    key    = '
            f'"{env}/terraform.tfstate"\n    region = "eu-west-1"\n  }}\n}}\n'
        )


def source_tree(spec: RepoSpec) -> dict[str, str]:
    """Every file at the main head, path -> text."""
    files: dict[str, str] = {}
    files["README.md"] = (
        f"# {spec.name}\n\n{spec.description}\n\nOwned by the {spec.project[1]} team (Jira project "
        f"`{spec.jira}`).\n\n"
        "## Development\n\n"
        + {
            "python": "```\npip install -r requirements.txt -r requirements-dev.txt\npytest\n```\n",
            "go": "```\nmake test\n```\n",
            "typescript": "```\nnpm ci\nnpm test\n```\n",
            "kotlin": "```\n./gradlew testDebugUnitTest\n```\n",
            "hcl": "```\ncd envs/staging && terraform init && terraform plan\n```\n",
        }[spec.language]
        + (
            (
                "\n## Deployments\n\nMerges to main deploy to test and staging automatically. "
                "Production is the manual custom pipeline `deploy-to-production`.\n"
            )
            if spec.deployable
            else ""
        )
    )
    files["bitbucket-pipelines.yml"] = pipelines_yml(spec)
    files[".gitignore"] = {
        "python": "__pycache__/\n.venv/\n*.pyc\n",
        "go": "/bin/\n",
        "typescript": "node_modules/\ndist/\n.next/\n",
        "kotlin": ".gradle/\nbuild/\n",
        "hcl": ".terraform/\n*.tfplan\n",
    }[spec.language]
    {"python": _py_tree, "go": _go_tree, "typescript": _ts_tree, "kotlin": _kt_tree, "hcl": _hcl_tree}[
        spec.language
    ](spec, files)
    if spec.language != "hcl" and spec.language != "kotlin":
        files["config/production.yaml"] = _yaml_config(spec, "production")
        files["config/staging.yaml"] = _yaml_config(spec, "staging")
    if spec.deployable:
        files["ci/deploy.sh"] = (
            '#!/usr/bin/env bash\nset -euo pipefail\nENV="$1"\nSHA="$2"\nhelm upgrade --install '
            '"$BITBUCKET_REPO_SLUG" ./chart -f "chart/values-$ENV.yaml" --set image.tag="$SHA" '
            "--wait --timeout 10m\n"
        )
        files["ci/smoke-test.sh"] = (
            "#!/usr/bin/env bash\nset -euo pipefail\nfor i in $(seq 1 10); do\n  curl -fsS "
            '"$1/healthz" && exit 0\n  sleep 6\ndone\necho "smoke test failed" >&2\nexit 1\n'
        )
    for t_file, content in _test_files(spec).items():
        files.setdefault(t_file, content)
    return dict(sorted(files.items()))


# ---------------------------------------------------------------------------------------- tests

_CASES = (
    "happy_path",
    "handles_empty_input",
    "rejects_invalid_payload",
    "retries_on_timeout",
    "respects_timeout",
    "is_idempotent",
    "uses_default_config",
    "serialises_to_json",
    "handles_unicode",
    "logs_warning_on_fallback",
    "returns_404_for_unknown_id",
    "propagates_request_id",
)


def test_catalog(spec: RepoSpec) -> list[TestDef]:
    """The repository's test cases (stable order): what reports and logs draw from."""
    tests: list[TestDef] = []
    for mi, (module, symbols) in enumerate(spec.modules):
        base = module.split("/")[-1].split(".")[0]
        n_cases = 4 + (len(module) + mi) % 6
        for ci in range(n_cases):
            sym = symbols[ci % len(symbols)]
            case = _CASES[(ci * 5 + mi) % len(_CASES)]
            skipped = (mi + ci) % 17 == 5
            if spec.language == "python":
                name = f"test_{_snake(sym).lower()}_{case}"
                file = f"tests/unit/test_{base}.py"
                tests.append(
                    TestDef(
                        name, f"{file}::{name}", file, 10 + ci * 5, f"src/{spec.pkg}/{module}.py", skipped
                    )
                )
            elif spec.language == "go":
                name = f"Test{_camel(sym)}_{_camel(case)}"
                file = f"internal/{module}/{module}_test.go"
                tests.append(
                    TestDef(
                        name,
                        f"bitbucket.org/acme/{spec.slug}/internal/{module}.{name}",
                        file,
                        20 + ci * 14,
                        f"internal/{module}/{module}.go",
                        skipped,
                    )
                )
            elif spec.language == "typescript":
                title = case.replace("_", " ")
                file = f"src/{module}.test.ts"
                tests.append(
                    TestDef(
                        f"{sym} {title}",
                        f"{file} › {sym} › {title}",
                        file,
                        12 + ci * 9,
                        f"src/{module}.ts",
                        skipped,
                    )
                )
            elif spec.language == "kotlin":
                name = _camel(case)
                name = name[0].lower() + name[1:]
                cls = f"com.acme.shop.{'.'.join(module.split('/')[:-1]).lower()}.{module.split('/')[-1]}Test"
                file = f"shared/src/commonTest/kotlin/com/acme/shop/{module}Test.kt"
                tests.append(
                    TestDef(
                        name,
                        f"{cls}.{name}",
                        file,
                        18 + ci * 11,
                        f"shared/src/commonMain/kotlin/com/acme/shop/{module}.kt",
                        skipped,
                    )
                )
    if spec.slug == "checkout-service":
        f = "tests/integration/test_cart.py"
        for i, n in enumerate(
            ("test_add_item_persists", "test_concurrent_checkout", "test_reserved_stock_released_on_decline")
        ):
            tests.append(TestDef(n, f"{f}::{n}", f, 12 + i * 10, "src/checkout/orders.py"))
    if spec.slug == "api-gateway":
        f = "tests/unit/test_ratelimit.py"
        for i, n in enumerate(
            (
                "test_override_applies_per_client",
                "test_burst_limit_resets",
                "test_default_limits_without_override",
            )
        ):
            tests.append(TestDef(n, f"{f}::{n}", f, 14 + i * 12, "src/gateway/ratelimit.py"))
    return tests


def _test_files(spec: RepoSpec) -> dict[str, str]:
    by_file: dict[str, list[TestDef]] = {}
    for t in test_catalog(spec):
        by_file.setdefault(t.file, []).append(t)
    out = {}
    for file, tests in by_file.items():
        if spec.language == "python":
            module = file.rsplit("/test_", 1)[-1].removesuffix(".py")
            out[file] = _py_test_file(module, tests, spec.pkg)
        elif spec.language == "go":
            pkg = file.split("/")[1]
            body = [f"package {pkg}", "", 'import "testing"', ""]
            body += [f"func {t.name}(t *testing.T) {{\n\tt.Parallel()\n}}\n" for t in tests]
            out[file] = "\n".join(body)
        elif spec.language == "typescript":
            body = [
                (
                    f"describe('{t.name.split(' ', 1)[0]}', () => {{\n  "
                    f"it('{t.name.split(' ', 1)[1]}', async () => {{\n    expect(true).toBe(true);\n  "
                    f"}});\n}});\n"
                )
                for t in tests
            ]
            out[file] = "\n".join(body)
        elif spec.language == "kotlin":
            cls = tests[0].fqn.rsplit(".", 1)[0]
            body = [
                f"package {cls.rsplit('.', 1)[0]}",
                "",
                "import kotlin.test.Test",
                "",
                f"class {cls.rsplit('.', 1)[1]} {{",
            ]
            body += [f"    @Test\n    fun {t.name}() {{\n    }}\n" for t in tests]
            out[file] = "\n".join(body) + "}\n"
    return out


# code lines used to fabricate diff hunks
ADDED_LINES = {
    "python": (
        "    if payload is None:",
        "        return {}",
        '    logger.info("retrying after %s ms", delay_ms)',
        "    timeout_ms = settings.timeout_ms",
        "    result = client.get(url, timeout=timeout_ms / 1000)",
        "    items = [item for item in items if item.quantity > 0]",
        '    raise ValueError(f"unknown region: {region}")',
        '    return Decimal("0.00")',
    ),
    "go": (
        "\tif err != nil {",
        '\t\treturn fmt.Errorf("authorize: %w", err)',
        "\t}",
        "\tctx, cancel := context.WithTimeout(ctx, c.timeout)",
        "\tdefer cancel()",
        '\tlog.Info("retrying", zap.Int("attempt", attempt))',
    ),
    "typescript": (
        "  if (!response.ok) {",
        "    throw new ApiError(response.status, await response.text());",
        "  }",
        "  const total = items.reduce((sum, item) => sum + item.price * item.quantity, 0);",
        "  setLoading(false);",
        "  return formatPrice(total, currency);",
    ),
    "kotlin": (
        "    if (code.isBlank()) return false",
        "    state.value = state.value.filterNot { it == id }",
        '    val response = api.get("/orders")',
        '    logger.warn("discount code rejected: $code")',
    ),
    "hcl": (
        '  instance_types = ["m6i.large", "m6a.large"]',
        "  desired_size   = 3",
        "  deletion_protection = true",
        '  engine_version = "16.2"',
    ),
}
