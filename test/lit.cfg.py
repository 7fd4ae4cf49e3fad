# -*- Python -*-
# lit configuration for ftl: front-end, dialect, pass and end-to-end tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "FTL"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".ftl", ".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ftl_obj_root, "test")
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py",
                   "fixtures", "tools"]

llvm_config.use_default_substitutions()
# Debian's LLVM 19 tools (FileCheck, not) are not on PATH by default.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.ftl_tools_dir, append_path=True)
llvm_config.with_environment("FTL_STDLIB",
                             os.path.join(config.ftl_src_root, "stdlib"))

config.substitutions.append(("%ftl_src", config.ftl_src_root))
config.substitutions.append(("%python", config.python_executable))
# ftl and ftl-opt come from PATH (a substitution would also rewrite
# "--emit=ftl").

# A GPU is present only if the CUDA driver library loads.
try:
    import ctypes
    ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda")
except OSError:
    pass
