"""The build-site command: flags, progress bars, summary, one-line errors."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .core.executor import dask_engine, default_jobs
from .core.settings import ConfigError, check_base_url, check_scheduler, curation_path, load_config
from .core.model import BuildError, UsageError
from .pipeline import BuildPaths, BuildResult, build

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the checkout: templates/, static/
USAGE_STATUS = 2  # a bad flag, as a bad site.yaml: the command was not run
INTERRUPTED_STATUS = 130  # Ctrl-C, as shells report a process ended by SIGINT
DOCS_EPILOG = """\
'build-site serve' builds, then previews the site on 127.0.0.1 and rebuilds
when seeds, templates, static files or site.yaml change.

More in the docs (docs/ in the checkout; 'mkdocs serve' shows them as a site):
  docs/getting-started.md  this command: flags, exit statuses, build-site serve
  docs/settings.md         every site.yaml key, its default and its checks
  docs/publishing.md       --base-url, excerpt mode, GitHub Pages, Netlify, nginx, Apache
  docs/dask.md             --dask: running the heavy work on a Dask cluster
"""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line with a pointer to --help, not the usage block.

    Subcommand parsers made by add_subparsers() are of the parent's class, so they report alike.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_STATUS, f"build-site: error: {message} (see build-site --help)\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(
        prog="build-site",
        description="Build a news digest site from the scraped articles in a seeds folder.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the epilog's lines as written
        epilog=DOCS_EPILOG)
    parser.add_argument("command", nargs="?", choices=("build", "serve"), default="build",
                        help="build (default) or serve")
    parser.add_argument("--port", type=int, default=8000, help="port for serve (default 8000)")
    parser.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                        help="address serve listens on (default 127.0.0.1, this machine only)")
    parser.add_argument("--edit", action="store_true",
                        help="with serve: the editor's desk, curating in the browser (writes only curation_file)")
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help="settings file (default: ./site.yaml if present)")
    parser.add_argument("--seeds", type=Path, metavar="DIR", help="input folder (default: seeds)")
    parser.add_argument("--output", type=Path, metavar="DIR", help="output folder (default: output)")
    parser.add_argument("--base-url", metavar="URL",
                        help="where the site is published, e.g. https://example.org/revue/ (overrides site.yaml)")
    parser.add_argument("--jobs", type=int, metavar="N",
                        help="worker processes, 0 = one per core (default: jobs in site.yaml, else all cores)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run the heavy work on a Dask cluster: its scheduler's address "
                             "(tcp://host:8786), or 'local' for a local cluster of --jobs workers")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 0:
        parser.error("--jobs must be 0 (all cores) or more")
    if args.edit and args.command != "serve":
        parser.error("--edit goes with serve: build-site serve --edit")
    return args


def with_flags(config: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Settings that a flag overrides (--base-url)."""
    if args.base_url is not None:
        config["base_url"] = check_base_url(args.base_url, "--base-url")
    return config


def dask_scheduler(config: dict[str, Any], args: argparse.Namespace) -> str | None:
    """The Dask scheduler to run on (--dask, else site.yaml executor), or None: local processes.

    Taken out of the settings: where the work runs never changes what is built.
    """
    executor = config.pop("executor")
    if args.dask is not None:
        return check_scheduler(args.dask, "--dask")
    return (executor["scheduler"] or "local") if executor["kind"] == "dask" else None


def resolve_paths(args: argparse.Namespace, config: dict[str, Any], config_dir: Path) -> BuildPaths:
    """Flags win over site.yaml; site.yaml paths are relative to its own folder."""
    def from_config(key: str, default: Path | None = None) -> Path:
        value = config["paths"].get(key)
        if not value:
            return default if default is not None else config_dir / key
        return config_dir / value

    def shipped(name: str) -> Path:
        local = config_dir / name
        return local if local.is_dir() else PACKAGE_ROOT / name

    output = args.output or from_config("output")
    return BuildPaths(
        seeds=args.seeds or from_config("seeds"),
        output=output,
        cache=from_config("cache", output / ".cache"),
        templates=from_config("templates", shipped("templates")),
        static=from_config("static", shipped("static")),
    )


class RichProgress:
    """A progress bar per stage on a terminal (rich)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), transient=False)
        self.task: Any = None
        self.bar.start()

    def start(self, stage: str, total: int | None) -> None:
        self.task = self.bar.add_task(stage, total=total)

    def advance(self, n: int) -> None:
        self.bar.advance(self.task, n)

    def finish(self) -> None:
        task = self.bar.tasks[-1]
        self.bar.update(self.task, total=task.total or task.completed or 1,
                        completed=task.total or task.completed or 1)

    def stop(self) -> None:
        self.bar.stop()


def print_summary(result: BuildResult, output: Path) -> None:
    s = result.stats

    def count(n: int, noun: str) -> str:
        return f"{n} {noun}{'' if n == 1 else 's'}"

    if result.unchanged:
        print(f"nothing changed since the last build ({count(s['articles'], 'article')}); "
              f"site: {output / 'site'}", file=sys.stderr)
        return

    print(f"{count(s['files'], 'file')} read: {count(s['articles'], 'article')}, "
          f"{count(s['duplicates'], 'duplicate')}, {s['rejected']} rejected, {s['skipped']} skipped; "
          f"{count(s['pages_written'], 'page')}; {count(s['files_rendered'], 'file')} rendered, "
          f"{s['files_changed']} changed", file=sys.stderr)
    print("seconds per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in result.seconds.items()),
          file=sys.stderr)
    print(f"site: {output / 'site'}   report: {output / 'build-report.json'}", file=sys.stderr)


def serve_site(args: argparse.Namespace, config: dict[str, Any], config_path: Path | None, config_dir: Path,
               paths: BuildPaths, jobs: int, local_models: bool) -> None:
    """Preview the built site, rebuilding in this process, with the spaCy models kept loaded."""
    from .corpus.ner import MODELS, load_model
    from .editor import Editor
    from .serve import serve

    current = {"paths": paths}
    corrections = curation_path(config_path, config)
    editor = Editor(paths.output / "site", corrections.resolve(), config["editions"]) \
        if args.edit and corrections is not None else None
    if args.edit and editor is None:
        raise ConfigError("serve --edit needs a corrections file: set curation_file in site.yaml")

    def rebuild() -> bool:
        fresh = with_flags(load_config(config_path), args)
        fresh.pop("executor")
        current["paths"] = resolve_paths(args, fresh, config_dir)
        again = build(fresh, current["paths"], jobs, keep_models=True)
        if not args.quiet:
            print_summary(again, paths.output)
        return not again.unchanged

    def watched() -> list[Path]:
        now = current["paths"]
        return [now.seeds, now.templates, now.static] + ([config_path] if config_path else []) \
            + ([corrections] if corrections is not None else [])

    def warm() -> None:
        """Load the models now, not at the first edit (a build from the NER cache loads none)."""
        for lang in MODELS if local_models else ():
            try:
                load_model(lang)
            except BuildError as exc:
                print(f"build-site: {exc}", file=sys.stderr)

    serve(paths.output / "site", watched, rebuild, args.port, warm, editor=editor, host=args.host)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if not args.quiet else logging.ERROR,
                        format="build-site: %(levelname)s: %(message)s")
    progress = None
    try:
        config_path = args.config
        if config_path is None and Path("site.yaml").is_file():
            config_path = Path("site.yaml")
        config = with_flags(load_config(config_path), args)
        scheduler = dask_scheduler(config, args)
        config_dir = config_path.resolve().parent if config_path else Path.cwd()
        paths = resolve_paths(args, config, config_dir)
        jobs = (args.jobs if args.jobs is not None else config["jobs"]) or default_jobs()  # 0: all cores
        if not args.quiet and sys.stderr.isatty():
            progress = RichProgress()
        with dask_engine(scheduler, jobs):  # the cluster stays up while serve rebuilds
            result = build(config, paths, jobs, progress, keep_models=args.command == "serve")
            if progress:
                progress.stop()
                progress = None
            if not args.quiet:
                print_summary(result, paths.output)
            if args.command == "serve":
                serve_site(args, config, config_path, config_dir, paths, jobs, local_models=scheduler is None)
        return 0
    except UsageError as exc:  # a wrong --seeds or working folder: the command was not run
        print(f"build-site: error: {exc} (see build-site --help)", file=sys.stderr)
        return USAGE_STATUS
    except (ConfigError, BuildError) as exc:
        print(f"build-site: error: {exc}", file=sys.stderr)
        return USAGE_STATUS if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        print("build-site: interrupted; the previous site was left as it was", file=sys.stderr)
        return INTERRUPTED_STATUS
    except OSError as exc:
        print(f"build-site: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug, not a user error: one line unless debugging
        if os.environ.get("BUILD_SITE_DEBUG"):
            raise
        print(f"build-site: internal error: {type(exc).__name__}: {exc} "
              "(set BUILD_SITE_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    finally:
        if progress:
            progress.stop()


def run() -> None:
    """The command (`build-site`, `python -m generator`): main()'s status as the process's.

    After Ctrl-C the process leaves by os._exit, once main() has cleaned up and said so:
    when the interrupt landed while CPython ran exec'd code (a dataclass being made during an
    import), the interpreter would otherwise end itself by SIGINT whatever main() returned."""
    status = main()
    if status == INTERRUPTED_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    run()
