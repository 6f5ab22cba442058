# setup.sh: sourced first in a GPU-machine command (`. tools/gpu-box/setup.sh`): unpacks
# .device/ (made by pack.sh) so that node and the addon work in this checkout.
mkdir -p .device/bin native/build/Release node_modules/@headkv
[ -x .device/bin/node ] || { xz -dc .device/node.xz > .device/bin/node && chmod +x .device/bin/node; }
xz -dc .device/headkv.node.xz > native/build/Release/headkv.node
tar xJf .device/js.tar.xz
for lib in libs/*/; do
  name=$(basename "$lib")
  [ -e "node_modules/@headkv/$name" ] || ln -s "../../libs/$name" "node_modules/@headkv/$name"
done
PATH="$PWD/.device/bin:$PATH"
export PATH
node --version
