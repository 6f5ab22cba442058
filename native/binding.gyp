{
  "targets": [
    {
      "target_name": "headkv",
      "sources": ["<!@(node list-sources.js)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "include",
        "src"
      ],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8", "<!@(node addon-cuda.js defines)"],
      "libraries": ["<!@(node addon-cuda.js libraries)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O3", "<!(node -p \"process.env.HEADKV_NATIVE_ARCH === 'OFF' ? '-mtune=generic' : '-march=native'\")", "-pthread"],
      "cflags_cc": ["-std=c++17", "-O3", "<!(node -p \"process.env.HEADKV_NATIVE_ARCH === 'OFF' ? '-mtune=generic' : '-march=native'\")", "-pthread", "-fexceptions"],
      "ldflags": ["-pthread"]
    }
  ]
}
