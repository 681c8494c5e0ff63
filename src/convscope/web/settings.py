"""The explorer's limits: how much one request may send and make the server compute.

Every bound the server enforces lives in one frozen :class:`Settings`, so a deployment (or a
test) changes them in one place: ``create_app(settings=Settings(max_upload_bytes=1_000_000))``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .. import _validation as V

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """The limits of one explorer app (all positive).

    Attributes
    ----------
    max_upload_bytes : int
        The largest uploaded image file, in bytes (default 4 MiB). A larger request body is
        refused with 413 before it is read to the end.
    max_json_bytes : int
        The largest JSON request body (default 8 MiB: a 3x128x128 input and a 256x256 image fit).
    max_pixels : int
        The most pixels an uploaded image may *declare* in its header (default 16 megapixels),
        checked before any pixel is decoded: the decompression-bomb guard of
        :func:`convscope.io.images.read_image`.
    max_input_side : int
        The largest model input height or width (default 128): zoo models are fed images
        resized to at most this; an ONNX model that declares a larger input is refused at startup.
    preview_side : int
        The largest side of the picture the filter playground works on (default 256).
    max_layers : int
        The most layers one overview returns (default 32; the rest are named, not computed twice).
    max_channels : int
        The most channels of one layer the overview returns (default 16).
    max_units : int
        The most values of a layer without spatial dims (a Linear) the overview returns (default 256).
    max_filters : int
        The most learned filters the learned-filter view returns (default 64).
    max_kernel_side : int
        The largest side of a kernel in the filter playground (default 31).
    busy_timeout : float
        Seconds a request waits for a model another request is running before it is answered
        503 (default 10). One model runs one request at a time (its hooks are shared), so the
        wait is bounded by the per-request compute above.
    allowed_hosts : tuple of str
        The names a request's ``Host`` header may give (default this machine's:
        ``127.0.0.1``, ``localhost``, ``[::1]``); ``"*"`` allows any. Other names are refused
        with 403, so a web page whose DNS name is rebound to 127.0.0.1 cannot use the server.

    Examples
    --------
    >>> Settings().max_upload_bytes
    4194304
    >>> Settings(max_layers=0)
    Traceback (most recent call last):
        ...
    ValueError: Settings: max_layers expects a positive integer, but got 0
    """

    max_upload_bytes: int = 4 * 1024 * 1024
    max_json_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 16 * 1024 * 1024
    max_input_side: int = 128
    preview_side: int = 256
    max_layers: int = 32
    max_channels: int = 16
    max_units: int = 256
    max_filters: int = 64
    max_kernel_side: int = 31
    busy_timeout: float = 10.0
    allowed_hosts: tuple = ("127.0.0.1", "localhost", "[::1]")

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "allowed_hosts":
                if isinstance(value, str) or not all(isinstance(h, str) and h for h in value):
                    raise TypeError(f"Settings: allowed_hosts expects a tuple of host names, but got {value!r}")
                object.__setattr__(self, field.name, tuple(h.lower() for h in value))
            elif field.type == "float":
                V.check_positive(value, field.name, "Settings")
            else:
                V.check_int(value, field.name, "Settings", minimum=1)
