"""`python -m shop --host 127.0.0.1 --port 8000` runs the service under uvicorn."""

from __future__ import annotations

import argparse

import uvicorn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the shop service.")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    uvicorn.run("shop.app:app", host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
