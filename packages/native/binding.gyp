{
  "targets": [
    {
      "target_name": "iv2_native",
      "sources": ["csrc/addon.cc", "csrc/gemm.cc", "csrc/attention.cc", "csrc/rows.cc", "csrc/elementwise.cc", "csrc/parallel.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd"],
      "conditions": [
        ["OS=='mac'", {
          "defines": ["IV2_ACCELERATE", "ACCELERATE_NEW_LAPACK"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-fopenmp-simd"] }
        }, {
          "include_dirs": ["/usr/include/x86_64-linux-gnu/openblas-pthread", "/usr/include/aarch64-linux-gnu/openblas-pthread", "/usr/include/openblas"],
          "libraries": ["-lopenblas", "-lpthread"]
        }],
        ["OS!='mac'", {
          "cflags_cc": ["-march=native"]
        }]
      ]
    }
  ]
}
