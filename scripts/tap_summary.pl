#!/usr/bin/perl
# Independent check of the suite's TAP with Perl's TAP::Parser: every file
# must parse, have a plan matching its results, and unique result names that
# stay unique after the lab parsers' filter. Prints the closing line
# "N passed, N failed, N skipped" over all result lines and exits non-zero on
# any failure or malformed TAP.
use strict;
use warnings;
use TAP::Parser;

my ($passed, $failed, $skipped, $bad) = (0, 0, 0, 0);
my $count = 1;

for my $file (@ARGV) {
	# Files after --structure-only are checked but not counted (the runner's
	# outer TAP repeats, per program, what the programs' own TAP says).
	if ($file eq '--structure-only') { $count = 0; next; }
	open(my $fh, '<', $file) or die "tap_summary: $file: $!\n";
	my $tap = do { local $/; <$fh> };
	close($fh);
	my $parser = TAP::Parser->new({ tap => $tap });
	my (%names, %lab_names);
	while (my $r = $parser->next) {
		next unless $r->is_test;
		my $name = $r->description;
		$name =~ s/^\s*-?\s*//;
		if ($names{$name}++) {
			print STDERR "tap_summary: $file: duplicate result name '$name'\n";
			$bad++;
		}
		(my $lab = $name) =~ s/[^A-Za-z0-9_-]/_/g;
		if ($lab_names{$lab}++ && $names{$name} == 1) {
			print STDERR "tap_summary: $file: '$name' collides with another name after the lab filter\n";
			$bad++;
		}
		if (!$r->is_ok && $count) { $failed++; print STDERR "tap_summary: $file: not ok: $name\n"; }
		elsif (!$count) { }
		elsif ($r->has_skip) { $skipped++; }
		else { $passed++; }
	}
	for my $e ($parser->parse_errors) {
		print STDERR "tap_summary: $file: $e\n";
		$bad++;
	}
	if (!$parser->is_good_plan) {
		print STDERR "tap_summary: $file: plan does not match the results\n";
		$bad++;
	}
}
print "$passed passed, $failed failed, $skipped skipped\n";
exit(($failed || $bad) ? 1 : 0);
