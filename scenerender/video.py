"""Writing animations: MP4 / WebM through ffmpeg (imageio-ffmpeg), GIF, and
numbered PNG frames. Frames are streamed to the writer one at a time, so
memory does not grow with the number of frames; each output appears only
when complete (temporary name, then an atomic rename).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from .errors import RenderError
from .paths import check_output_folder

#: Extension -> the container written (the output stage, :mod:`scenerender.outputs`, chooses by these).
VIDEO_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".webm": "webm", ".gif": "gif"}


def video_format(path: Path) -> str:
    """'mp4', 'webm', 'gif' or 'png' (a folder of numbered PNG frames)."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_FORMATS:
        return VIDEO_FORMATS[suffix]
    if suffix == "" or path.is_dir():
        return "png"
    raise RenderError(f"{path}: cannot write an animation as {suffix}; use .mp4, .webm, .gif, "
                      "or a folder name (no extension) for numbered PNG frames")


_FRAME = re.compile(r"frame_\d{5,}\.png")


def check_frames_folder(path: Path) -> list[Path]:
    """The frames in an existing PNG-frames folder that may be replaced: it
    must hold nothing but regular ``frame_NNNNN.png`` files (what scenerender
    writes; its record lies beside the folder). Anything else - a user's
    file, a subfolder, a symlink - and the folder is refused, untouched."""
    if not os.path.lexists(path):
        return []
    if path.is_symlink() or not path.is_dir():
        raise RenderError(f"{path}: exists and is not a folder of PNG frames; name a new folder for the frames")
    frames, other = [], []
    for entry in os.scandir(path):
        if _FRAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            frames.append(Path(entry.path))
        else:
            other.append(entry.name)
    if other:
        raise RenderError(f"{path}: folder holds {other[0]!r}{f' and {len(other) - 1} more' if len(other) > 1 else ''}"
                          ", not only frames scenerender wrote; name a new or empty folder for the PNG frames "
                          "(nothing was changed)")
    return frames


def replace_frames_folder(new: Path, path: Path) -> None:
    """Put the finished frames folder ``new`` at ``path``, replacing an old
    frames folder only if it still holds nothing but frames (checked again
    now): the old one is moved aside, the new one moved in, and the old
    frames removed file by file - never a recursive delete."""
    frames = check_frames_folder(path)
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
    os.rmdir(old)
    os.rename(path, old)
    try:
        os.rename(new, path)
    except OSError:
        os.rename(old, path)  # put the old frames back
        raise
    for frame in frames:
        (old / frame.name).unlink(missing_ok=True)
    try:
        os.rmdir(old)
    except OSError:  # something appeared meanwhile: keep it, under its own folder's name
        pass


class VideoWriter:
    """Streams frames of one size into a video file or a folder of PNGs."""

    def __init__(self, path: Path, *, fps: float, size: tuple[int, int], quality: int = 18):
        self.path = Path(path)
        self.format = video_format(self.path)
        self.size = size
        self.count = 0
        parent = self.path.parent
        check_output_folder(self.path)
        if self.format == "png":
            check_frames_folder(self.path)
            self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=parent))
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=self.path.suffix, dir=parent)
        self._tmp = Path(tmp)
        try:  # an error or a signal before the writer exists must not leave the temporary file
            os.close(fd)
            if self.format == "gif":
                # lazy: start-up time (imageio; only this step needs it)
                import imageio.v3 as iio

                self._gif = iio.imopen(self._tmp, "w", extension=".gif")
                self._gif_ms = 1000.0 / fps
                return
            self._ffmpeg = self._start_ffmpeg(fps, quality)
        except BaseException:
            self._cleanup()
            raise

    def _start_ffmpeg(self, fps: float, quality: int):
        import subprocess

        import imageio_ffmpeg

        width, height = self.size
        if self.format == "mp4":
            # yuv420p plays everywhere but needs even sizes; odd sizes keep their
            # exact size in 4:4:4 rather than being padded or scaled.
            even = width % 2 == 0 and height % 2 == 0
            codec = ["-c:v", "libx264", "-pix_fmt", "yuv420p" if even else "yuv444p", "-crf", str(quality),
                     "-preset", "medium", "-movflags", "+faststart"]
            if not even:
                print(f"scenerender: {width}x{height} has an odd side; writing H.264 4:4:4 to keep the exact size "
                      "(use even sizes for players that need 4:2:0)", file=sys.stderr)
        else:
            codec = ["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-crf", str(quality), "-b:v", "0", "-row-mt", "1"]
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo",
                   "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "-", "-an",
                   *codec, "-f", self.format, str(self._tmp)]
        # ffmpeg's messages go to a file, read back when it fails: a pipe could fill up and stall it.
        self._ffmpeg_log = tempfile.TemporaryFile(mode="w+b")
        # Its own session: a Ctrl-C on the terminal reaches only scenerender, which then
        # stops ffmpeg and removes the partial file (ffmpeg would otherwise finish it).
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._ffmpeg_log,
                                start_new_session=True)

    def _ffmpeg_error(self) -> str:
        self._ffmpeg_log.seek(0)
        lines = self._ffmpeg_log.read().decode(errors="replace").strip().splitlines()
        return " | ".join(lines[-4:]) or f"exit status {self._ffmpeg.returncode}"

    def write(self, frame: np.ndarray) -> None:
        """Append one (height, width, 3|4) uint8 frame."""
        if frame.shape[1] != self.size[0] or frame.shape[0] != self.size[1]:
            raise RenderError(f"frame {self.count} is {frame.shape[1]}x{frame.shape[0]}, not {self.size[0]}x{self.size[1]}")
        rgb = np.ascontiguousarray(frame[..., :3])
        try:
            if self.format == "png":
                # lazy: start-up time (imageio; only this step needs it)
                import imageio.v3 as iio

                iio.imwrite(self._tmp / f"frame_{self.count:05d}.png", frame)
            elif self.format == "gif":
                # pillow's GIF plugin takes these; imageio types the generic PluginV3.write without them
                self._gif.write(rgb, duration=self._gif_ms, loop=0)  # type: ignore[call-arg]
            else:
                self._ffmpeg.stdin.write(rgb.tobytes())
        except BrokenPipeError:
            self._ffmpeg.wait()
            message = self._ffmpeg_error()
            self._cleanup()
            raise RenderError(f"{self.path}: ffmpeg stopped at frame {self.count}: {message}") from None
        except (OSError, RuntimeError) as err:
            self.abort()
            raise RenderError(f"{self.path}: writing frame {self.count} failed: {err}") from None
        self.count += 1

    def close(self) -> Path:
        """Finish the file and move it into place."""
        if self.format == "gif":
            self._gif.close()
        elif self.format in ("mp4", "webm"):
            try:
                self._ffmpeg.stdin.close()
            except BrokenPipeError:
                pass
            if self._ffmpeg.wait() != 0:
                message = self._ffmpeg_error()  # ffmpeg's own words, e.g. an encoder error
                self._cleanup()
                raise RenderError(f"{self.path}: ffmpeg failed: {message}")
            self._ffmpeg_log.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, (0o777 if self._tmp.is_dir() else 0o666) & ~umask)  # mkstemp/mkdtemp make it private
        if self.format == "png" and os.path.lexists(self.path):
            replace_frames_folder(self._tmp, self.path)
        else:
            os.replace(self._tmp, self.path)
        return self.path

    def _cleanup(self) -> None:
        if getattr(self, "_ffmpeg_log", None) is not None:
            self._ffmpeg_log.close()
        if self._tmp.is_dir():
            shutil.rmtree(self._tmp, ignore_errors=True)
        else:
            self._tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Stop without leaving anything behind."""
        try:
            if self.format in ("mp4", "webm"):
                self._ffmpeg.kill()
                self._ffmpeg.wait()
            elif self.format == "gif":
                self._gif.close()
        except Exception:  # already broken; nothing more to save
            pass
        self._cleanup()
