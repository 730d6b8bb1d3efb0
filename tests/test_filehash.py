"""``file_sha256`` / ``feed_file``: the digest of the whole file, read a block at a time."""

import hashlib
from pathlib import Path

from shelfwise.filehash import BLOCK, feed_file, file_sha256


def test_block_reads_give_the_digest_of_the_whole_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * (BLOCK // 256 * 2 + 3)  # crosses two block boundaries
    f = tmp_path / "w.bin"
    f.write_bytes(data)
    assert file_sha256(f) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert file_sha256(empty) == hashlib.sha256(b"").hexdigest()
    h = hashlib.sha256(b"prefix")
    feed_file(h, f)
    assert h.hexdigest() == hashlib.sha256(b"prefix" + data).hexdigest()
