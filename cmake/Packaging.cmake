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

# The OCI hook is nucleus-trace itself (--oci-hook); its configuration (oci-hooks(5)) goes where
# podman and CRI-O find packaged hooks. It names the installed tool, so it is written at install
# time, when the prefix is known (cpack installs under /usr). Podman and CRI-O read
# /usr/share/containers/oci/hooks.d: another prefix needs their --hooks-dir.
set(nucleus_hooks_in ${PROJECT_SOURCE_DIR}/tools/oci-hooks.d)
set(nucleus_hooks_out ${CMAKE_BINARY_DIR}/oci-hooks.d)
install(CODE "
  set(NUCLEUS_HOOK_PATH \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/nucleus-trace\")
  set(NUCLEUS_TRACE_DIR /var/lib/nucleus/traces) # tools/oci_hook.hpp's default_trace_dir
  foreach(stage prestart poststop)
    configure_file(${nucleus_hooks_in}/nucleus-trace-\${stage}.json.in
                   ${nucleus_hooks_out}/nucleus-trace-\${stage}.json @ONLY)
  endforeach()")
install(FILES ${nucleus_hooks_out}/nucleus-trace-prestart.json ${nucleus_hooks_out}/nucleus-trace-poststop.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/containers/oci/hooks.d)

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

gVisor (runsc 0.0~20240729 or newer, from bookworm-backports on Debian 12) is recommended: it is
the default isolation for untrusted workloads
(--trust-level untrusted); without it nucleus-run refuses such work unless --trust-level trusted
or --allow-degraded-security is given.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # nucleus_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # from the binaries: libc6 alone unless NUCLEUS_STATIC_DEPS=OFF
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "runsc (>= 0.0~20240729)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
set(CPACK_GENERATOR DEB)
include(CPack)
