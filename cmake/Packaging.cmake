# Installation under the usual prefixes (GNUInstallDirs), and the Debian package (CPack).
#   cmake --install build/release --prefix /usr/local
#   cmake --workflow --preset deb          # configure, build and package: build/release/nucleus_*.deb
include(GNUInstallDirs)
# Packaging and installing never build: the build step (or preset) before them does.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(nucleus_tools nucleus-run nucleus-trace nucleus-profile)
set(nucleus_docs ${CMAKE_BINARY_DIR}/doc) # written by tools/CMakeLists.txt at build time

install(TARGETS ${nucleus_tools} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(tool ${nucleus_tools})
  install(FILES ${nucleus_docs}/man1/${tool}.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  # Where bash-completion, zsh (Debian's vendor directory) and fish look for packaged completions.
  install(FILES ${nucleus_docs}/bash/${tool} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
  install(FILES ${nucleus_docs}/zsh/_${tool} DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
  install(FILES ${nucleus_docs}/fish/${tool}.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# OCI hooks (not written yet). When they exist: the hook executable goes with the tools, under
# ${CMAKE_INSTALL_LIBEXECDIR}/nucleus/, and its hook configuration (JSON, oci-hooks(5)) under
# ${CMAKE_INSTALL_DATADIR}/containers/oci/hooks.d/, where podman and CRI-O find packaged hooks.
# Any *.json in hooks/ is installed there already, so adding the hook needs no change here.
file(GLOB nucleus_oci_hooks CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/hooks/*.json)
if(nucleus_oci_hooks)
  install(FILES ${nucleus_oci_hooks} DESTINATION ${CMAKE_INSTALL_DATADIR}/containers/oci/hooks.d)
endif()

# The Debian package: cpack -G DEB in a build directory (see the deb presets).
set(CPACK_PACKAGE_NAME nucleus)
set(CPACK_PACKAGE_VENDOR "nucleus")
set(CPACK_PACKAGE_CONTACT "nucleus maintainers <nucleus@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "seccomp profiling and hardening: trace a program, generate its profile, run it under it")
set(CPACK_PACKAGE_DESCRIPTION
    "nucleus records which system calls a program makes (nucleus-trace, from the kernel's audit records),
turns them into a minimal seccomp allowlist in the OCI format (nucleus-profile, which also checks,
explains, diffs and exports profiles, with JSON and SARIF output), and runs the program under it in
fresh namespaces with every denial reported (nucleus-run).

gVisor (runsc) is recommended: it is the default isolation for untrusted workloads
(--trust-level untrusted); without it nucleus-run refuses such work unless --trust-level trusted
or --allow-degraded-security is given.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # nucleus_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # libseccomp2, libcap2, libssl3, libstdc++6 ... from the binaries
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "runsc")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
set(CPACK_GENERATOR DEB)
include(CPack)
