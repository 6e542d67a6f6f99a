# Plots of bench/compare.js; run with -e "outdir='...'".
set terminal pngcairo size 900,540 font ",11"
set datafile missing "NaN"
set grid

set output outdir."/throughput.png"
set title "Keyed counter, 1,000 keys: applied invocations/s vs requests in flight"
set xlabel "requests in flight"
set ylabel "applied invocations / s"
set logscale x 2
set key top left
plot outdir."/throughput.dat" using 1:2:3:4 with yerrorlines lw 2 title "Hearth + StateFun JS SDK", \
     ''                        using 1:8:9:10 with yerrorlines lw 2 title "Hearth + minimal C++ function", \
     ''                        using 1:5:6:7 with yerrorlines lw 2 title "Restate + TypeScript SDK"

set output outdir."/latency_cdf.png"
set title "Latency from request to applied, 64 in flight (CDF)"
set xlabel "milliseconds"
set ylabel "fraction of requests"
set logscale x 10
unset logscale y
set yrange [0:1]
set key bottom right
plot outdir."/cdf_hearth.dat" using 1:2 with linespoints lw 2 title "Hearth + StateFun JS SDK", \
     outdir."/cdf_restate.dat" using 1:2 with linespoints lw 2 title "Restate + TypeScript SDK"
