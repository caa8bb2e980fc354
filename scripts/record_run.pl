#!/usr/bin/perl
# Writes DIR/record.json, the record of one run of the suite, from what the run
# left in DIR: run_tests.log (the runner's TAP as printed) and <program>.tap
# (each program's raw KTAP). run_tests.sh calls it after a host run,
# scripts/qemu_lane.sh after a lane run, passing the guest's kernel. Prints
# nothing; a record it cannot write is one line on stderr and exit 1.
use strict;
use warnings;
use Getopt::Long qw(GetOptions);
use JSON::PP;
use POSIX qw(uname);
use Sys::Hostname qw(hostname);
use TAP::Parser;

my $FORMAT = 'kvm_gmem-run-record/1';
my $RUNNER_LOG = 'run_tests.log';
my $PROGRAM_PREFIX = 'selftests: kvm_gmem: ';
# Files another part of a run may leave beside the TAP (the lane's --bench).
my @EXTRA_FILES = qw(gmem_bench.json gmem_bench.png gmem_bench.log);

sub usage {
	print STDERR "usage: record_run.pl --dir DIR --suite-dir DIR --started UTC --ended UTC\n"
		. "  --exit-status N [--declaration DECL] [--strict] [--kernel-release R\n"
		. "  --kernel-cmdline C --kernel-arch A] [--lane KEY=VALUE ...]\n";
	exit 1;
}

sub die_line { print STDERR "record_run.pl: $_[0]\n"; exit 1; }

sub slurp {
	my ($path) = @_;
	open(my $fh, '<', $path) or return undef;
	local $/;
	my $text = <$fh>;
	close($fh);
	return $text;
}

sub first_line { my ($text) = @_; return defined $text ? (split /\n/, $text)[0] // '' : ''; }

sub command_output {
	my (@cmd) = @_;
	open(my $fh, '-|', @cmd) or return undef;
	my $out = do { local $/; <$fh> };
	close($fh) or return undef;
	chomp($out);
	return $out;
}

# The REVISION file `make install` leaves in an installed tree; else git
# describe (a checkout, or the kernel tree the project sits in); else a value
# that says it is unknown and why.
sub suite_revision {
	my ($suite_dir) = @_;
	my $installed = first_line(slurp("$suite_dir/REVISION"));
	return $installed if $installed ne '';
	my $described = command_output('sh', '-c', 'git -C "$1" describe --always --dirty 2>/dev/null',
		'sh', $suite_dir);
	return $described if defined $described && $described ne '';
	return "unknown (no git checkout and no REVISION file in $suite_dir)";
}

sub local_kernel {
	my (undef, undef, $release, undef, $arch) = uname();
	my $cmdline = first_line(slurp('/proc/cmdline'));
	return { release => $release, cmdline => $cmdline, arch => $arch };
}

# "name # comment" of a TAP result: TAP::Parser keeps a comment that is not a
# directive in the description.
sub split_description {
	my ($description) = @_;
	$description =~ s/^\s*-?\s*//;
	my ($name, $comment) = split / # /, $description, 2;
	return ($name, $comment // '');
}

# TAP::Parser refuses an empty string (a run that ended before its TAP began).
sub tap_parser {
	my ($tap) = @_;
	return TAP::Parser->new({ tap => $tap eq '' ? "\n" : $tap });
}

sub outcome_of {
	my ($result) = @_;
	return 'fail' unless $result->is_ok;
	return 'skip' if $result->has_skip;
	return 'pass';
}

# The runner's TAP: one result per program, in the order they ran.
sub runner_results {
	my ($tap) = @_;
	my (@order, %programs, $totals);
	my $parser = tap_parser($tap);
	while (my $r = $parser->next) {
		$totals = $1 if $r->is_comment && $r->as_string =~ /^# Totals: (.*)$/;
		next unless $r->is_test;
		my ($name, $comment) = split_description($r->description);
		next unless $name =~ s/^\Q$PROGRAM_PREFIX\E//;
		next if $programs{$name};
		push @order, $name;
		my $why = $r->has_skip ? $r->explanation : $comment;
		$programs{$name} = { outcome => outcome_of($r), ($why ne '' ? (reason => $why) : ()) };
	}
	return (\@order, \%programs, $totals, $parser->parse_errors ? [$parser->parse_errors] : undef);
}

sub parse_totals {
	my ($line) = @_;
	return undef unless defined $line;
	my %totals = $line =~ /(\w+):(\d+)/g;
	$totals{$_} += 0 for keys %totals;
	return \%totals;
}

# A program's raw KTAP: its profile line, its Totals and every result.
sub program_results {
	my ($tap) = @_;
	my (%rows, $profile, $totals, $plan_skip);
	my $parser = tap_parser($tap);
	while (my $r = $parser->next) {
		if ($r->is_comment) {
			my $text = $r->as_string;
			$profile //= $1 if $text =~ /^# profile: (.*)$/;
			$totals = $1 if $text =~ /^# Totals: (.*)$/;
		} elsif ($r->is_plan && $r->directive eq 'SKIP') {
			$plan_skip = $r->explanation;
		} elsif ($r->is_test) {
			my ($name) = split_description($r->description);
			next if exists $rows{$name};	# tap_summary.pl reports duplicates
			my $outcome = outcome_of($r);
			$rows{$name} = { outcome => $outcome,
				($outcome eq 'skip' ? (reason => $r->explanation // '') : ()) };
		}
	}
	return (\%rows, $profile, parse_totals($totals), $plan_skip);
}

sub program_record {
	my ($dir, $name, $outer, $results) = @_;
	my %program = (%$outer, tap => "$name.tap");
	my $tap = slurp("$dir/$name.tap");
	if (!defined $tap) {
		delete $program{tap};
		return \%program;
	}
	my ($rows, $profile, $totals, $plan_skip) = program_results($tap);
	$program{profile} = $profile if defined $profile;
	$program{totals} = $totals if $totals;
	$program{plan_skip} = $plan_skip if defined $plan_skip;
	$results->{"$name: $_"} = $rows->{$_} for keys %$rows;
	return \%program;
}

sub lane_fields {
	my (@pairs) = @_;
	return undef unless @pairs;
	my %lane;
	for (@pairs) {
		my ($key, $value) = split /=/, $_, 2;
		die_line("--lane '$_' is not KEY=VALUE") unless defined $value;
		$lane{$key} = $value;
	}
	return \%lane;
}

# What reaches every program (and the lane's guest): the settings of a run.
sub suite_environment {
	my %env = map { $_ => $ENV{$_} } grep { /^(GMEM_[A-Z0-9_]+|KSELFTEST_[A-Z0-9_]+_ARGS)$/ } keys %ENV;
	return \%env;
}

sub write_json {
	my ($path, $data) = @_;
	my $json = JSON::PP->new->utf8->canonical->pretty->encode($data);
	open(my $fh, '>', "$path.tmp") or die_line("cannot write $path.tmp: $!");
	print $fh $json;
	close($fh) or die_line("cannot write $path.tmp: $!");
	rename("$path.tmp", $path) or die_line("cannot rename $path.tmp: $!");
}

sub main {
	my %opt = (lane => [], declaration => $ENV{GMEM_EXPECT} // '');
	GetOptions(\%opt, 'dir=s', 'suite-dir=s', 'started=s', 'ended=s', 'exit-status=i',
		'declaration=s', 'strict', 'kernel-release=s', 'kernel-cmdline=s',
		'kernel-arch=s', 'lane=s@') or usage();
	defined $opt{$_} or usage() for qw(dir suite-dir started ended exit-status);
	my $dir = $opt{dir};
	-d $dir or die_line("$dir is not a directory");

	my $runner_tap = slurp("$dir/$RUNNER_LOG") // '';
	my ($order, $outer, $totals, $tap_errors) = runner_results($runner_tap);
	my (%programs, %results);
	$programs{$_} = program_record($dir, $_, $outer->{$_}, \%results) for @$order;

	my $kernel = local_kernel();
	$kernel->{release} = $opt{'kernel-release'} if defined $opt{'kernel-release'};
	$kernel->{cmdline} = $opt{'kernel-cmdline'} if defined $opt{'kernel-cmdline'};
	$kernel->{arch} = $opt{'kernel-arch'} if defined $opt{'kernel-arch'};
	my (undef, undef, undef, undef, $host_arch) = uname();

	my %record = (
		format => $FORMAT,
		suite_revision => suite_revision($opt{'suite-dir'}),
		started => $opt{started},
		ended => $opt{ended},
		machine => { hostname => hostname(), arch => $host_arch },
		kernel => $kernel,
		declaration => $opt{declaration},
		strict => $opt{strict} ? JSON::PP::true : JSON::PP::false,
		environment => suite_environment(),
		exit_status => $opt{'exit-status'},
		program_order => $order,
		programs => \%programs,
		results => \%results,
		files => [grep { -e "$dir/$_" } @EXTRA_FILES],
	);
	$record{totals} = parse_totals($totals) if defined $totals;
	$record{runner_tap_errors} = $tap_errors if $tap_errors;
	my $lane = lane_fields(@{ $opt{lane} });
	$record{lane} = $lane if $lane;
	write_json("$dir/record.json", \%record);
	return 0;
}

exit(main());
