"""`onelayer.reproduce` when the data is missing, without the network."""

import pytest

import onelayer


def test_missing_data_names_the_folder_and_the_download_option(tmp_path):
    nowhere = tmp_path / "nowhere"
    with pytest.raises(onelayer.OnelayerError) as e:
        onelayer.reproduce(nowhere, tmp_path / "out")
    message = str(e.value)
    assert str(nowhere) in message
    assert "download=True" in message
    assert not nowhere.exists()


def test_data_already_there_is_not_downloaded_again(tmp_path):
    # A folder holding a (damaged) batch counts as the data: reading it fails,
    # naming the file, instead of a download starting.
    data = tmp_path / "data"
    data.mkdir()
    (data / "data_batch_1.bin").write_bytes(b"not a batch")
    with pytest.raises(onelayer.OnelayerError) as e:
        onelayer.reproduce(data, tmp_path / "out", download=True, url="http://127.0.0.1:9/x.tar.gz")
    message = str(e.value)
    assert "data_batch_1" in message or "batches" in message, message
    assert "127.0.0.1" not in message and "download" not in message.lower(), message
    assert sorted(p.name for p in data.iterdir()) == ["data_batch_1.bin"]
