"""lexcite's own app with the PyTorch encoder, for the PyTorch column of the HTTP table:
`lexcite serve` picks ONNX Runtime whenever it can, and the CLI has no switch for it.
`python -m bench.lexcite_server --port P` (reads LEXCITE_* like `lexcite serve`).

It builds the engine with sentence-transformers on PyTorch and hands it to the same
`service.app.create_app` that `lexcite serve` runs, with the same uvicorn settings.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from index.encoder import SentenceTransformerEncoder, bundled_model_path
    from service.app import create_app
    from service.engine import Engine
    from service.settings import get_settings

    p = argparse.ArgumentParser(prog="python -m bench.lexcite_server", description=__doc__)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    settings = get_settings()
    encoder = SentenceTransformerEncoder(settings.model or str(bundled_model_path()))
    app = create_app(settings, Engine(settings.data_dir, encoder))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
