package bpf

//go:generate go tool bpf2go -cc clang-14 -cflags "-O2 -g -Wall -Werror -mcpu=v3" -target amd64 -go-package bpf -type exec_event -type conn_event -type container_cfg -type name_key -type exe_key -type deny_key -type allow_key -type port_key -type deny_set_meta -type event_type -type cfg_flags -type egress_flags -type class_bits -type event_flags -type stat_index Vigil vigil.bpf.c -- -I./include
//go:generate go tool bpf2go -cc clang-14 -cflags "-O2 -g -Wall -Werror -mcpu=v3" -target amd64 -go-package bpf -no-global-types -output-stem vigil_lsm VigilLsm vigil_lsm.bpf.c -- -I./include
