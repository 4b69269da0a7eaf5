#!/usr/bin/env bash
# A tiny "simulation": reads the inlist, writes a MESA-like history.data (toy main-sequence scaling).
set -euo pipefail
get() { awk -F'=' -v k="$1" 'tolower($0) !~ /^[ \t]*!/ { split($1, a, " "); if (tolower(a[1]) == k) { sub(/!.*/, "", $2); gsub(/[ \t]/, "", $2); sub(/[dD]/, "e", $2); print $2 } }' inlist; }
mass=$(get initial_mass); z=$(get initial_z); age=$(get max_age); n=$(get n_steps)
awk -v m="$mass" -v z="$z" -v age="$age" -v n="$n" 'BEGIN {
  printf "%40s %40s\n", 1, 2
  printf "%40s %40s\n", "initial_mass", "initial_z"
  printf "%40s %40s\n", m, z
  print ""
  printf "%40s %40s %40s\n", 1, 2, 3
  printf "%40s %40s %40s\n", "model_number", "star_age", "log_L"
  for (i = 1; i <= n; i++) {
    t = age * i / n
    printf "%40d %40.16e %40.16e\n", i, t, 3.5 * log(m) / log(10) - 0.1 * z * 10 + 0.05 * t / age
  }
}' > history.data
echo "simulated M=$mass Z=$z: $(($(wc -l < history.data) - 6)) steps"
