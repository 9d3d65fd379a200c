"""Writing animations: MP4 / WebM through ffmpeg (imageio-ffmpeg), GIF, and
numbered PNG frames. Frames are streamed to the writer one at a time, so
memory does not grow with the number of frames; each output appears only
when complete (temporary name, then an atomic rename).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from .errors import RenderError

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


class VideoWriter:
    """Streams frames of one size into a video file or a folder of PNGs."""

    def __init__(self, path: Path, *, fps: float, size: tuple[int, int], quality: int = 18):
        self.path = Path(path)
        self.format = video_format(self.path)
        self.size = size
        self.count = 0
        parent = self.path.parent
        if not parent.exists():
            raise RenderError(f"{self.path}: folder {parent} does not exist; create it first")
        if self.format == "png":
            if self.path.is_dir() and any(not p.name.startswith("frame_") for p in self.path.iterdir()):
                raise RenderError(f"{self.path}: folder holds files other than frame_*.png; "
                                  "name a new or empty folder for the PNG frames")
            self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=parent))
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=self.path.suffix, dir=parent)
        os.close(fd)
        self._tmp = Path(tmp)
        if self.format == "gif":
            import imageio.v3 as iio

            self._gif = iio.imopen(self._tmp, "w", extension=".gif")
            self._gif_ms = 1000.0 / fps
            return
        self._ffmpeg = self._start_ffmpeg(fps, quality)

    def _start_ffmpeg(self, fps: float, quality: int):
        import imageio_ffmpeg

        width, height = self.size
        if self.format == "mp4":
            # yuv420p plays everywhere but needs even sizes; odd sizes keep their
            # exact size in 4:4:4 rather than being padded or scaled.
            even = width % 2 == 0 and height % 2 == 0
            codec, pix_fmt = "libx264", ("yuv420p" if even else "yuv444p")
            params = ["-crf", str(quality), "-preset", "medium"]
            if not even:
                print(f"scenerender: {width}x{height} has an odd side; writing H.264 4:4:4 to keep the exact size "
                      "(use even sizes for players that need 4:2:0)", file=sys.stderr)
        else:
            codec, pix_fmt = "libvpx-vp9", "yuv420p"
            params = ["-crf", str(quality), "-b:v", "0", "-row-mt", "1"]
        writer = imageio_ffmpeg.write_frames(
            str(self._tmp), (width, height), fps=fps, codec=codec, pix_fmt_in="rgb24", pix_fmt_out=pix_fmt,
            macro_block_size=1, output_params=params, ffmpeg_log_level="error", quality=None)
        try:
            writer.send(None)  # start ffmpeg now, so a bad setup fails before any frame is drawn
        except Exception as err:
            self._cleanup()
            raise RenderError(f"{self.path}: ffmpeg could not start: {err}") from None
        return writer

    def write(self, frame: np.ndarray) -> None:
        """Append one (height, width, 3|4) uint8 frame."""
        if frame.shape[1] != self.size[0] or frame.shape[0] != self.size[1]:
            raise RenderError(f"frame {self.count} is {frame.shape[1]}x{frame.shape[0]}, not {self.size[0]}x{self.size[1]}")
        rgb = np.ascontiguousarray(frame[..., :3])
        try:
            if self.format == "png":
                import imageio.v3 as iio

                iio.imwrite(self._tmp / f"frame_{self.count:05d}.png", frame)
            elif self.format == "gif":
                self._gif.write(rgb, duration=self._gif_ms, loop=0)
            else:
                self._ffmpeg.send(rgb)
        except (OSError, RuntimeError, BrokenPipeError) as err:
            self._cleanup()
            raise RenderError(f"{self.path}: writing frame {self.count} failed: {err}") from None
        self.count += 1

    def close(self) -> Path:
        """Finish the file and move it into place."""
        try:
            if self.format == "gif":
                self._gif.close()
            elif self.format in ("mp4", "webm"):
                self._ffmpeg.close()
        except Exception as err:  # ffmpeg's own message, e.g. an encoder error
            self._cleanup()
            raise RenderError(f"{self.path}: ffmpeg failed: {err}") from None
        if self.format == "png":
            if self.path.exists():
                shutil.rmtree(self.path)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, (0o777 if self._tmp.is_dir() else 0o666) & ~umask)  # mkstemp/mkdtemp make it private
        os.replace(self._tmp, self.path)
        return self.path

    def _cleanup(self) -> None:
        if self._tmp.is_dir():
            shutil.rmtree(self._tmp, ignore_errors=True)
        else:
            self._tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Stop without leaving anything behind."""
        try:
            if self.format in ("mp4", "webm"):
                self._ffmpeg.close()
            elif self.format == "gif":
                self._gif.close()
        except Exception:
            pass
        self._cleanup()
