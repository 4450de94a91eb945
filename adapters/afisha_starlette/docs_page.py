"""The pages the server renders: the API docs (Swagger UI) and the recovery form.

The docs page is Swagger UI, whose files ship inside the ``swagger-ui-py`` package
and are served by the app itself (nothing is loaded from another site). Every URL in
the page is built from the request's root path, so it works mounted under a prefix.
"""

from __future__ import annotations

import html
import importlib.util
import json
from pathlib import Path

__all__ = ["DOCS_ASSETS", "DOCS_INIT_JS", "docs_html", "swagger_ui_folder"]

#: The Swagger UI files the page loads, with their media types.
DOCS_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def swagger_ui_folder() -> Path:
    """The folder of Swagger UI's files inside the installed ``swagger-ui-py`` package."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the docs page needs the swagger-ui-py package (pip install afisha[server])"
        )
    return Path(spec.origin).parent / "static"


def docs_html(root_path: str) -> str:
    """The docs page for an app mounted at ``root_path`` ("" at the site root)."""
    base = root_path.rstrip("/")
    config = json.dumps({"url": f"{base}/openapi.json"})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Afisha API</title>
<link rel="icon" type="image/png" href="{html.escape(base)}/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="{html.escape(base)}/docs/assets/swagger-ui.css">
</head><body>
<div id="swagger-ui" data-config="{html.escape(config)}"></div>
<noscript>This page needs JavaScript; the API is described by
<a href="{html.escape(base)}/openapi.json">openapi.json</a>.</noscript>
<script src="{html.escape(base)}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{html.escape(base)}/docs/assets/afisha-docs.js"></script>
</body></html>
"""


#: Starts Swagger UI on the document named by the page, with "try it out" on and the
#: bearer token kept across reloads (the "Authorize" button logs in).
DOCS_INIT_JS = """\
"use strict";
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  var config = JSON.parse(root.getAttribute("data-config"));
  window.ui = SwaggerUIBundle({
    url: config.url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""
