"""The files a command writes, checked before it reads, trains or writes anything; and writes that outlive a failure.

Every command that writes starts its ``run()`` with :func:`check_files`, giving what it reads and what it will write:

    check_files(inputs={"--data": args.data}, outputs={"--out": (args.out, MODEL), "--plot": (args.plot, FIGURE)})

Nothing the user made is lost to a mistake in a path: an output that is an input (or another output) is refused,
as a file (the same file under another name, through ``..``, a symbolic or a hard link), not as a string; and an
output that cannot be written (no such folder, a folder, a read-only folder, a suffix its writer does not know, a
missing optional library) is refused before the hour of training that would end in it, not after.

A write can still fail after the work is done (a full disk). :func:`attempt` runs one such write and collects the
failure instead of stopping; ``glassnet train`` saves the model first, then tries the curves and the report, and when
anything failed it keeps the trained model anyway (:func:`keep_model_and_report`) before it reports the failures.

Next read: ``train.py``, the command with the most outputs.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from glassnet.errors import GlassnetError, ModelFileError, OutputFileError, require
from glassnet.explain.diagram import FIGURE_FORMATS
from glassnet.interfaces.cli.common import one_of


@dataclass(frozen=True)
class Writer:
    """What one of glassnet's writers accepts.

    Attributes
    ----------
    what : str
        The kind of file with its article, for messages ("an image", "an HTML report").
    example : str
        A file name of that kind, for the advice in messages.
    suffixes : tuple of str, or None
        The suffixes (lower case, with the dot; ``""`` for none) whose format the writer knows; None: any name
        (the writer writes one format whatever the name, and reads it back under any name).
    needs : tuple of (module, extra, purpose)
        Optional libraries the writer imports, checked with :func:`glassnet.errors.require`.
    error : type
        The error for a path it cannot write: :class:`ModelFileError` for models and checkpoints, as
        ``io.atomic_write`` raises, :class:`OutputFileError` for everything else.
    """

    what: str
    example: str
    suffixes: tuple[str, ...] | None = None
    needs: tuple[tuple[str, str, str], ...] = ()
    error: type[GlassnetError] = OutputFileError


# io.save writes the same zip whatever the name, and io.load reads it back under any name: no suffix is wrong.
MODEL = Writer("a model file", "model.npz", error=ModelFileError)
CHECKPOINT = Writer("a checkpoint", "run.ckpt", error=ModelFileError)
# save_figure takes its format from the suffix (none: png); a plot needs matplotlib.
FIGURE = Writer("an image", "curves.png", ("", *(f".{kind}" for kind in FIGURE_FORMATS)),
                needs=(("matplotlib.figure", "plot", "drawing a picture"),))
REPORT = Writer("an HTML report", "report.html", (".html", ".htm"))
PREDICTIONS = Writer("a predictions file", "predictions.csv", (".csv", ".txt"))
TORCH_FILE = Writer("a PyTorch file", "model.pt", (".pt", ".pth"), needs=(("torch", "torch", "glassnet export --to torch"),))
ONNX_FILE = Writer("an ONNX model", "model.onnx", (".onnx",),
                   needs=(("torch", "onnx", "glassnet export --to onnx"), ("onnx", "onnx", "glassnet export --to onnx")))


def _identity(path: str) -> tuple[object, ...]:
    """What makes two paths one file: device and inode for a file that exists (so hard links, symbolic links and
    ``..`` agree), else the real path with every link resolved (two names of a file not yet written)."""
    try:
        st = os.stat(path)
    except OSError:
        return ("path", os.path.normcase(os.path.realpath(path)))
    except ValueError:  # a NUL byte: no file has that name, and check_output refuses it
        return ("invalid", path)
    return ("file", st.st_dev, st.st_ino)


def _how(a: str, b: str) -> str:
    same_string = os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))
    return "" if same_string else " (the same file under another name or through a link)"


def check_files(inputs: Mapping[str, str | None], outputs: Mapping[str, tuple[str | None, Writer]]) -> None:
    """Refuse, before anything is read or written, every output that would destroy an input or another output,
    or that its writer cannot write.

    Parameters
    ----------
    inputs : mapping of str to str or None
        What the command reads, by how the user named it (``"--data"``, ``"the model"``) to its path; None (not
        given), a name that is not a file (a built-in dataset) and a file that does not exist are skipped: none
        can be destroyed.
    outputs : mapping of str to (str or None, Writer)
        What the command writes, by option (``"--out"``) to its path (None: not asked for) and its writer.

    Raises
    ------
    ModelFileError, OutputFileError
        (the writer's ``error``) naming the option, the path and what to do instead.
    MissingDependency
        When a writer needs an optional library that is not installed, naming the extra to install.
    """
    wanted = {option: (path, writer) for option, (path, writer) in outputs.items() if path is not None}
    seen: dict[tuple[object, ...], tuple[str, str]] = {}
    for option, path in inputs.items():
        if path is not None and os.path.isfile(path):
            seen.setdefault(_identity(path), (option, path))
    for option, (path, writer) in wanted.items():
        if os.path.isdir(path):
            continue  # refused as a folder below
        key = _identity(path)
        if key in seen:
            other, other_path = seen[key]
            read = other in inputs
            raise writer.error(
                f"{option} {path} is the same file as {other} {other_path}{_how(path, other_path)}: "
                + ("writing it would destroy what glassnet reads" if read else "the second write would replace the first")
                + f". Give {option} a file of its own, e.g. {_sibling(path, writer)}")
        seen[key] = (option, path)
    for option, (path, writer) in wanted.items():
        check_output(option, path, writer)
    for _, writer in wanted.values():
        for module, extra, purpose in writer.needs:
            require(module, extra, purpose)


def check_output(option: str, path: str, writer: Writer) -> None:
    """Refuse ``path`` (given as ``option``) when ``writer`` cannot write it: empty, a folder (or a name ending
    in a separator), a device or pipe, in a folder that does not exist or cannot be written, or with a suffix the
    writer does not know. Raises the writer's ``error``."""
    error = writer.error
    if not path.strip():
        raise error(f"{option} needs a file name, got {path!r}; e.g. {option} {writer.example}")
    if "\0" in path:
        raise error(f"cannot write {path!r}: {option} holds a NUL character, which no file name can; e.g. "
                    f"{option} {writer.example}")
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise error(f"cannot write {path}: it is a folder; give {option} a file name inside it, e.g. "
                    f"{os.path.join(path, writer.example)}")
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        # atomic_write renames a new file over the old: it would replace the device or pipe, not write into it
        raise error(f"cannot write {path}: it is not a regular file (a device, pipe or socket); glassnet replaces "
                    f"its output files whole, so give {option} the name of a regular file, e.g. {writer.example}")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        there = "is a file, not a folder;" if os.path.exists(folder) else "does not exist; create it or"
        raise error(f"cannot write {path}: folder {folder} {there} give {option} a path in an existing folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise error(f"cannot write {path}: folder {folder} is not writable (permission denied or a read-only disk); "
                    f"give {option} a path in a folder you can write to")
    suffix = Path(path).suffix.lower()
    if writer.suffixes is not None and suffix not in writer.suffixes:
        known = one_of([s for s in writer.suffixes if s])
        raise error(f"cannot write {path}: {option} writes {writer.what}, and "
                    f"{suffix or 'a name without a suffix'} is not a format it knows; use a {known} file name, e.g. "
                    f"{_sibling(path, writer)}")


def _sibling(path: str, writer: Writer) -> str:
    """A file name beside ``path`` that its writer accepts and that is not ``path``: its suffix, when the writer
    knows it, else the suffix of the writer's example (a model refused as ``data.csv`` is offered ``data.npz``)."""
    target = Path(path)
    if not target.name:
        return writer.example
    known = writer.suffixes is not None and target.suffix.lower() in writer.suffixes
    suffix = target.suffix if known else Path(writer.example).suffix
    name = f"{target.stem}{suffix}"
    return str(target.with_name(name if name != target.name else f"{target.stem}-2{suffix}"))


def attempt(option: str, path: str, write: Callable[[], None], failed: list[str]) -> bool:
    """Run ``write()``, a write after the work is done; on failure add one line saying why to ``failed``.

    Returns whether it succeeded. A glassnet or operating-system error is the reason given; any other exception is
    named with its type (it is a glassnet bug, but the work done before it must not be lost to it).
    """
    try:
        write()
    except Exception as exc:  # noqa: BLE001 - reported with the others once every write has had its chance
        if isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror
        elif isinstance(exc, GlassnetError):
            reason = str(exc)
        else:
            reason = f"{type(exc).__name__}: {exc}"
        failed.append(f"{option} {path} was not written ({reason})")
        return False
    return True


def keep_model_and_report(failed: list[str], saved_to: str | None, save: Callable[[str], None]) -> None:
    """When a write after training failed (``failed`` is not empty), make sure the trained model is kept, then raise.

    The model is at ``saved_to`` when that write succeeded; else it is saved with ``save(path)`` to a new file
    ``glassnet-rescued-*.npz`` in the current folder, or failing that in the system's temporary folder, and the
    message announces where.

    Raises
    ------
    OutputFileError
        Naming every output that was not written and why, and where the trained model is (or that no folder took it).
    """
    if not failed:
        return
    lost = "training finished, but " + "; ".join(failed)
    if saved_to is not None:
        raise OutputFileError(f"{lost}. The trained model is saved in {saved_to}")
    reasons = []
    for folder in (os.getcwd(), tempfile.gettempdir()):
        try:
            fd, path = tempfile.mkstemp(prefix="glassnet-rescued-", suffix=".npz", dir=folder)
            os.close(fd)
            os.unlink(path)  # a fresh random name: saved by save() with the usual permissions, not mkstemp's 0600
        except OSError as exc:
            reasons.append(f"{folder}: {exc.strerror or exc}")
            continue
        try:
            save(path)
        except Exception as exc:  # noqa: BLE001 - try the next folder
            reasons.append(f"{folder}: {exc}")
            continue
        raise OutputFileError(f"{lost}. The trained model is saved instead in {path} (a file of its own, so that "
                              "nothing is lost: rename or move it)")
    raise OutputFileError(f"{lost}; and the trained model could not be saved anywhere else either ({'; '.join(reasons)}). "
                          "Free some disk space and train again (with --checkpoint, training resumes where it stopped)")
