# LibTorch from a torch wheel (Python package) directory: its headers and libraries,
# linked directly. find_package(Torch) is not used: it insists on a CUDA toolkit and can
# pick up another libc10 on the system. SPN_TORCH_DIR is .../site-packages/torch; `make`
# passes the one scripts/install-torch.sh installed.
set(SPN_TORCH_DIR "" CACHE PATH "torch package directory (site-packages/torch) to build against")
if(NOT EXISTS "${SPN_TORCH_DIR}/include/ATen/ATen.h")
  message(FATAL_ERROR "SPN_TORCH_DIR='${SPN_TORCH_DIR}' is not a torch package directory (no include/ATen/ATen.h); "
                      "run `make` (it installs the wheel) or pass -DSPN_TORCH_DIR=$(python -c 'import torch, os; print(os.path.dirname(torch.__file__))')")
endif()
add_library(spn_torch INTERFACE)
# After the system's include directories: the wheel also carries its own fmt and
# protobuf headers, which must not shadow the Debian ones spdlog and the events writer use.
target_compile_options(spn_torch INTERFACE "SHELL:-idirafter ${SPN_TORCH_DIR}/include"
                       "SHELL:-idirafter ${SPN_TORCH_DIR}/include/torch/csrc/api/include")
# The wheel's libtorch.so exports a newer GCC's copies of some libstdc++ functions
# (std::filesystem among them) that crash when called from code built by this compiler:
# naming libstdc++ first makes the dynamic linker bind those symbols to the system's.
target_link_libraries(spn_torch INTERFACE "-Wl,--push-state,--no-as-needed" stdc++ "-Wl,--pop-state"
                      ${SPN_TORCH_DIR}/lib/libtorch.so ${SPN_TORCH_DIR}/lib/libtorch_cpu.so ${SPN_TORCH_DIR}/lib/libc10.so)
# The wheel's OpenMP runtime, the one libtorch_cpu loads: the data loader's threads set
# their own OpenMP team size (dist/threads.h).
if(EXISTS ${SPN_TORCH_DIR}/lib/libgomp.so.1)
  target_link_libraries(spn_torch INTERFACE ${SPN_TORCH_DIR}/lib/libgomp.so.1)
  target_compile_definitions(spn_torch INTERFACE SPN_TORCH_OPENMP=1)
endif()
if(EXISTS ${SPN_TORCH_DIR}/lib/libtorch_cuda.so)
  # Linked even though nothing calls it directly, so CUDA tensors work when a GPU is there;
  # its CUDA libraries come from the wheel's nvidia/ packages.
  file(GLOB SPN_NVIDIA_LIBS LIST_DIRECTORIES true ${SPN_TORCH_DIR}/../nvidia/*/lib ${SPN_TORCH_DIR}/../nvidia/cu*/lib)
  string(REPLACE ";" ":" SPN_NVIDIA_LINK_PATH "${SPN_NVIDIA_LIBS}")
  target_link_libraries(spn_torch INTERFACE -Wl,--no-as-needed ${SPN_TORCH_DIR}/lib/libtorch_cuda.so
                        ${SPN_TORCH_DIR}/lib/libc10_cuda.so -Wl,--as-needed)
  target_link_options(spn_torch INTERFACE "-Wl,-rpath-link,${SPN_NVIDIA_LINK_PATH}")
  set(SPN_TORCH_HAS_CUDA ON)
  # NCCL: the wheel's own (nvidia/nccl), the one libtorch_cuda loads; a process can hold
  # only one libnccl.so.2, and the CUDA toolkit's is another version.
  find_path(SPN_NCCL_INCLUDE nccl.h PATHS ${SPN_TORCH_DIR}/../nvidia/nccl/include NO_DEFAULT_PATH)
  find_library(SPN_NCCL_LIBRARY NAMES nccl libnccl.so.2 PATHS ${SPN_TORCH_DIR}/../nvidia/nccl/lib NO_DEFAULT_PATH)
  file(GLOB SPN_CUDA_INCLUDE LIST_DIRECTORIES true ${SPN_TORCH_DIR}/../nvidia/cu*/include
       ${SPN_TORCH_DIR}/../nvidia/cuda_runtime/include)
  # The CUDA runtime: c10's CUDA headers (streams, guards) call it inline.
  file(GLOB SPN_CUDART_LIBRARY ${SPN_TORCH_DIR}/../nvidia/cu*/lib/libcudart.so.*
       ${SPN_TORCH_DIR}/../nvidia/cuda_runtime/lib/libcudart.so.*)
  if(SPN_NCCL_INCLUDE AND SPN_NCCL_LIBRARY AND SPN_CUDA_INCLUDE AND SPN_CUDART_LIBRARY)
    add_library(spn_nccl INTERFACE)
    # After the system's include directories, as torch's: the CUDA headers must not
    # shadow a system header of the same name.
    foreach(dir ${SPN_NCCL_INCLUDE} ${SPN_CUDA_INCLUDE})
      target_compile_options(spn_nccl INTERFACE "SHELL:-idirafter ${dir}")
    endforeach()
    list(GET SPN_CUDART_LIBRARY 0 SPN_CUDART_LIBRARY)
    target_link_libraries(spn_nccl INTERFACE ${SPN_NCCL_LIBRARY} ${SPN_CUDART_LIBRARY})
    target_compile_definitions(spn_nccl INTERFACE SPN_WITH_NCCL=1)
    get_filename_component(SPN_NCCL_LIBRARY_DIR ${SPN_NCCL_LIBRARY} DIRECTORY)
    get_filename_component(SPN_CUDART_LIBRARY_DIR ${SPN_CUDART_LIBRARY} DIRECTORY)
    set(SPN_WITH_NCCL ON)
  else()
    message(WARNING "torch has CUDA but its NCCL or CUDA headers were not found under ${SPN_TORCH_DIR}/../nvidia: "
                    "spn is built without the NCCL communicator (device = \"cuda\" will be refused)")
  endif()
endif()
set(CMAKE_BUILD_RPATH ${SPN_TORCH_DIR}/lib ${SPN_NCCL_LIBRARY_DIR} ${SPN_CUDART_LIBRARY_DIR})
set(CMAKE_INSTALL_RPATH ${SPN_TORCH_DIR}/lib ${SPN_NCCL_LIBRARY_DIR} ${SPN_CUDART_LIBRARY_DIR})
