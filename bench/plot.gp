# plot.gp - mcu-bench's chart: CPU (cores = CPU s per media s) against participants, for our
# engine (one recording, and one mix per participant) and for ffmpeg and GStreamer doing the
# recording job. Called by mcu-bench --plot as:
#   gnuplot -e "datafile='build/bench-out/plot.dat'; outfile='build/bench.svg'" bench/plot.gp
# Data columns: participants, ours (record), ffmpeg, gstreamer, ours (per-recipient); ? = none.
set terminal svg size 800,480 dynamic font "sans,12" background rgb "white"
set output outfile
set datafile missing "?"
set title "Grid mix of 360p senders into 1280x720@30 VP8 (2 Mbit/s, cpu-used -8, 1 thread)"
set xlabel "participants"
set ylabel "CPU (cores: CPU seconds per media second)"
set key top left
set grid
set yrange [0:*]
plot datafile using 1:3 with linespoints lw 2 pt 5 title "ffmpeg CLI (one recording)", \
     datafile using 1:4 with linespoints lw 2 pt 9 title "GStreamer (one recording)", \
     datafile using 1:2 with linespoints lw 2 pt 7 title "mcu engine (one recording)", \
     datafile using 1:5 with linespoints lw 2 pt 11 title "mcu engine (a mix per participant)"
