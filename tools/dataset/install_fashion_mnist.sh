#!/usr/bin/env bash
# Install Fashion-MNIST, the demo's default data, from Debian's package
# dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) when it is
# missing and apt can be used (root, or passwordless sudo). Otherwise say why
# and exit 0: the demo then falls back to the embedded digits data and says
# so in its summary. Run by `make env`.
set -u
dir=${DENSENAS_FMNIST:-/usr/share/datasets/fashion-mnist}
if [[ -f "$dir/train-images-idx3-ubyte.gz" && -f "$dir/t10k-labels-idx1-ubyte.gz" ]]; then
    echo "Fashion-MNIST: $dir"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "Fashion-MNIST not found at $dir and no apt-get here: the demo will use the embedded digits data"
    exit 0
fi
sudo=()
if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "Fashion-MNIST not found at $dir; installing it needs root: run 'apt-get install dataset-fashion-mnist' as root (the demo uses the embedded digits data until then)"
        exit 0
    fi
fi
install() { "${sudo[@]}" apt-get install -y --no-install-recommends dataset-fashion-mnist; }
if install || { "${sudo[@]}" apt-get update && install; }; then
    echo "Fashion-MNIST installed: /usr/share/datasets/fashion-mnist"
else
    echo "apt-get could not install dataset-fashion-mnist: the demo will use the embedded digits data"
fi
exit 0
