#!/usr/bin/perl
# The regression gate between two runs of the suite:
#
#     scripts/gate.pl BASE_DIR NEW_DIR        (make gate BASE=... NEW=...)
#
# Each directory is a run's record directory (record.json, written by
# scripts/record_run.pl). Prints what changed, one row per result, then one
# verdict line. Exit status: 0 pass; 1 a regression: pass -> fail, pass -> skip,
# skip -> fail, a result of BASE absent in NEW (a program NEW did not run
# too), a result new in NEW that fails, or, when both directories hold
# gmem_bench.json, a benchmark regression by bench/compare; 2 bad input (a
# directory or record missing, invalid, or in a format this gate does not know).
use strict;
use warnings;
use File::Basename qw(dirname);
use JSON::PP;

my %KNOWN_FORMATS = ('kvm_gmem-run-record/1' => 1);
my $BENCH_JSON = 'gmem_bench.json';
my $top = dirname(dirname(__FILE__));

sub bad_input { print STDERR "gate: $_[0]\n"; exit 2; }

sub read_text {
	my ($path) = @_;
	open(my $fh, '<', $path) or bad_input("cannot read $path: $!");
	local $/;
	my $text = <$fh>;
	close($fh);
	return $text;
}

sub check_record {
	my ($record, $path) = @_;
	ref $record eq 'HASH' or bad_input("$path: not a run record (not a JSON object)");
	my $format = $record->{format} // '(none)';
	$KNOWN_FORMATS{$format} or bad_input("$path: format '$format' is not one this gate knows ("
		. join(', ', sort keys %KNOWN_FORMATS) . ')');
	for my $field (qw(programs results)) {
		ref $record->{$field} eq 'HASH' or bad_input("$path: incomplete record: no '$field' object");
	}
	ref($record->{program_order} // []) eq 'ARRAY' or bad_input("$path: 'program_order' is not a list");
}

sub load_record {
	my ($role, $dir) = @_;
	defined $dir && $dir ne '' or bad_input("usage: scripts/gate.pl BASE_DIR NEW_DIR");
	-d $dir or bad_input("$role $dir: no such directory");
	my $path = "$dir/record.json";
	-f $path or bad_input("$role $dir: no record.json (not a run's record directory)");
	my $record = eval { JSON::PP->new->utf8->decode(read_text($path)) };
	if (!defined $record) {
		(my $why = $@ || 'empty') =~ s/ at \S+ line \d+\.?\n?$//;
		bad_input("$path: not valid JSON (truncated?): $why");
	}
	check_record($record, $path);
	return $record;
}

# Programs under their own name, results as "<program>: <test>".
sub flat_results {
	my ($record) = @_;
	my %flat = %{ $record->{results} };
	$flat{$_} = $record->{programs}{$_} for keys %{ $record->{programs} };
	return \%flat;
}

sub program_of { my ($name) = @_; return (split /: /, $name, 2)[0]; }

sub describe_run {
	my ($role, $dir, $r) = @_;
	my $kernel = $r->{kernel} // {};
	my $machine = $r->{machine} // {};
	return sprintf("gate: %-4s %s (suite %s; kernel %s; %s %s; started %s)", $role, $dir,
		$r->{suite_revision} // '?', $kernel->{release} // '?', $machine->{hostname} // '?',
		$machine->{arch} // '?', $r->{started} // '?');
}

sub settings_of {
	my ($record) = @_;
	my $env = $record->{environment} // {};
	my @set = map { "$_=$env->{$_}" } grep { $_ ne 'GMEM_EXPECT' && $_ ne 'GMEM_STRICT' } sort keys %$env;
	return @set ? join(' ', @set) : 'none';
}

sub context_notes {
	my ($base, $new) = @_;
	my @checks = (
		['machines', sub { join(' ', map { $_[0]{machine}{$_} // '?' } qw(hostname arch)) }],
		['kernels', sub { $_[0]{kernel}{release} // '?' }],
		['kernel command lines', sub { $_[0]{kernel}{cmdline} // '?' }],
		['declarations', sub { "'" . ($_[0]{declaration} // '') . "'" }],
		['strict modes', sub { $_[0]{strict} ? 'strict' : 'not strict' }],
		['suite revisions', sub { $_[0]{suite_revision} // '?' }],
		['settings (GMEM_*, KSELFTEST_*_ARGS)', sub { settings_of($_[0]) }],
		['lane images', sub { ($_[0]{lane} // {})->{image} // 'host' }],
		['preloads', sub { ($_[0]{lane} // {})->{preload} // 'none' }],
	);
	my @notes;
	for my $check (@checks) {
		my ($what, $value) = @$check;
		my ($b, $n) = ($value->($base), $value->($new));
		push @notes, "gate: note: comparing different $what: $b vs $n" if $b ne $n;
	}
	return @notes;
}

sub show { my ($row) = @_; return $row ? $row->{outcome} // '?' : 'absent'; }

sub reason_of {
	my ($row) = @_;
	return '' unless $row;
	return $row->{reason} // $row->{plan_skip} // '';
}

# One row of the table for a result whose outcome changed, or undef.
sub classify {
	my ($b, $n) = @_;
	my ($was, $is) = (show($b), show($n));
	return undef if $was eq $is;
	return 'missing' if $is eq 'absent';
	return $is eq 'fail' ? 'new failing' : 'new' if $was eq 'absent';
	return 'regressed' if $is eq 'fail' || ($was eq 'pass' && $is eq 'skip');
	return 'fixed' if $was eq 'fail' && $is eq 'pass';
	return 'newly run' if $was eq 'skip' && $is eq 'pass';
	return 'newly skipped' if $is eq 'skip';
	return 'changed';
}

my %IS_REGRESSION = map { $_ => 1 } ('regressed', 'new failing', 'missing');
my @SECTIONS = ('regressed', 'new failing', 'missing', 'fixed', 'newly run', 'newly skipped', 'new', 'changed');

sub detail {
	my ($kind, $b, $n) = @_;
	my @why;
	push @why, 'BASE: ' . reason_of($b) if $b && ($b->{outcome} // '') ne 'pass' && reason_of($b) ne '';
	push @why, 'NEW: ' . reason_of($n) if $n && ($n->{outcome} // '') ne 'pass' && reason_of($n) ne '';
	return @why ? '  [' . join('; ', @why) . ']' : '';
}

sub compare_results {
	my ($base, $new) = @_;
	my ($b_flat, $n_flat) = (flat_results($base), flat_results($new));
	my (%rows, $unchanged);
	for my $name (sort(keys %{ { %$b_flat, %$n_flat } })) {
		my $kind = classify($b_flat->{$name}, $n_flat->{$name});
		if (!defined $kind) { $unchanged++; next; }
		push @{ $rows{$kind} }, [$name, $b_flat->{$name}, $n_flat->{$name}];
	}
	return (\%rows, $unchanged // 0);
}

sub missing_programs {
	my ($base, $new) = @_;
	my @order = @{ $base->{program_order} // [] };
	@order = sort keys %{ $base->{programs} } unless @order;
	return grep { !exists $new->{programs}{$_} } @order;
}

sub print_table {
	my ($rows, $missing_programs) = @_;
	my %in_missing = map { $_ => 1 } @$missing_programs;
	my @shown = map { @{ $rows->{$_} // [] } } @SECTIONS;
	my $width = 20;
	for (@shown) { $width = length $_->[0] if length $_->[0] > $width; }
	if (!@shown) {
		print "(no result changed)\n";
		return;
	}
	printf "%-13s  %-*s  %s\n", 'change', $width, 'result', 'BASE -> NEW';
	for my $program (@$missing_programs) {
		my $count = grep { $_->[0] =~ /^\Q$program\E: / } @{ $rows->{missing} // [] };
		printf "%-13s  %-*s  %s\n", 'missing', $width, $program,
			"program not run in NEW ($count result(s) missing)";
	}
	for my $kind (@SECTIONS) {
		for my $row (@{ $rows->{$kind} // [] }) {
			my ($name, $b, $n) = @$row;
			next if $kind eq 'missing' && $in_missing{program_of($name)};
			printf "%-13s  %-*s  %s -> %s%s\n", $kind, $width, $name, show($b), show($n),
				detail($kind, $b, $n);
		}
	}
}

# bench/compare's verdict on the two runs' gmem_bench.json: 0, 1 or undef.
sub compare_benchmarks {
	my ($base_dir, $new_dir) = @_;
	my ($b, $n) = ("$base_dir/$BENCH_JSON", "$new_dir/$BENCH_JSON");
	return undef unless -f $b && -f $n;
	print "\n== benchmarks: bench/compare $b $n\n";
	system("$top/bench/compare", $b, $n);
	my $status = $? == -1 ? 2 : ($? & 127) ? 2 : $? >> 8;
	bad_input("bench/compare could not compare $b and $n (exit status $status)") if $status > 1;
	return $status;
}

sub verdict {
	my ($rows, $missing_programs, $bench, $unchanged) = @_;
	my %count = map { $_ => scalar @{ $rows->{$_} // [] } } @SECTIONS;
	my $regressions = 0;
	$regressions += $count{$_} for grep { $IS_REGRESSION{$_} } @SECTIONS;
	$regressions++ if $bench;
	my $summary = sprintf("%d regressed, %d new failing, %d missing%s%s; %d fixed, %d newly run, "
		. "%d newly skipped, %d new, %d unchanged", $count{regressed}, $count{'new failing'},
		$count{missing}, @$missing_programs ? ' (programs not run: ' . join(', ', @$missing_programs) . ')' : '',
		defined $bench ? ($bench ? ', benchmarks regressed' : ', benchmarks ok') : '',
		$count{fixed}, $count{'newly run'}, $count{'newly skipped'}, $count{new}, $unchanged);
	if ($regressions) {
		print "gate: FAIL: $regressions regression(s): $summary\n";
		return 1;
	}
	print "gate: PASS: $summary\n";
	return 0;
}

sub main {
	@ARGV == 2 or bad_input("usage: scripts/gate.pl BASE_DIR NEW_DIR");
	my ($base_dir, $new_dir) = @ARGV;
	my $base = load_record('BASE', $base_dir);
	my $new = load_record('NEW', $new_dir);
	print describe_run('BASE', $base_dir, $base), "\n", describe_run('NEW', $new_dir, $new), "\n";
	print "$_\n" for context_notes($base, $new);
	my ($rows, $unchanged) = compare_results($base, $new);
	my @missing_programs = missing_programs($base, $new);
	print_table($rows, \@missing_programs);
	my $bench = compare_benchmarks($base_dir, $new_dir);
	return verdict($rows, \@missing_programs, $bench, $unchanged);
}

exit(main());
