#!/usr/bin/perl
# CI: every repository path that a comment names exists. Scans the comments
# of the project's sources and scripts (*.cc *.hh *.h *.c *.sh *.pl *.mk,
# Makefile, and scripts without an extension whose #! names sh, bash, perl
# or python) for tokens that read as a path of this repository: lib/...,
# include/..., selftests/..., x86/..., arm64/..., scripts/..., tests/...,
# bench/..., .ci/..., ../shared/... A path is found relative to the top or
# to the file's own directory; <placeholder> and * match any name, a.{cc,hh}
# stands for both, and a name without an extension (lib/gmem/profile) any
# file of that stem. A token that continues a longer path (tools/testing/
# selftests/..., /sys/..., build/x86/..., $top/lib/...) is not one of ours,
# nor are the kernel's own include/uapi/, include/linux/, include/asm/ (and
# asm-generic/).
#
# Usage: scripts/comment_paths_check.pl [TOP]   (default: this script's top)
# Prints TAP: "# FILE:LINE: PATH" for each missing path, then one result
# and "# N paths checked, N missing"; exits 1 when a path is missing.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Find;
use Cwd qw(abs_path);

my $top = abs_path($ARGV[0] // dirname(abs_path($0)) . '/..');
chdir $top or die "comment_paths_check: $top: $!\n";

my $roots = qr{(?:\.\./shared|lib|include|selftests|x86|arm64|scripts|tests|bench|\.ci)};
# A path token: a root, then name characters; not the tail of a longer path
# or word (a preceding name character, '/', '.', '-', '$' or '}').
my $path_re = qr{(?<![\w./\-\$\}])((?:\.\./)*$roots/[\w.*<>{},/+\-]*)};

my @files;
find({ no_chdir => 1, wanted => sub {
	my $f = $File::Find::name;
	$f =~ s{^\./}{};
	if (-d $_) {
		$File::Find::prune = 1 if $f =~ m{^(?:\.git|build|results)$};
		return;
	}
	push @files, $f if wanted_file($f);
} }, '.');

sub wanted_file {
	my ($f) = @_;
	return 1 if $f =~ /\.(?:cc|hh|h|c|sh|pl|mk|py)$/ || $f =~ m{(?:^|/)Makefile$};
	return 0 if $f =~ /\.[^\/]*$/;  # other extensions: data, docs
	open(my $fh, '<', $f) or return 0;
	my $first = <$fh> // '';
	close($fh);
	return $first =~ m{^#!.*\b(?:sh|bash|perl|python3?)\b};
}

sub c_like { return $_[0] =~ /\.(?:cc|hh|h|c)$/; }

# comments FILE: (line, text) of every comment, a block comment line by line.
sub comments {
	my ($f) = @_;
	open(my $fh, '<', $f) or die "comment_paths_check: $f: $!\n";
	my @out;
	my $in_block = 0;
	while (my $line = <$fh>) {
		chomp $line;
		if (c_like($f)) {
			my $rest = $line;
			while (length $rest) {
				if ($in_block) {
					if ($rest =~ s{^(.*?)\*/}{}) { push @out, [$., $1]; $in_block = 0; }
					else { push @out, [$., $rest]; $rest = ''; }
					next;
				}
				# Code: drop string and character literals, then find a comment.
				$rest =~ s/"(?:[^"\\]|\\.)*"/""/g;
				$rest =~ s/'(?:[^'\\]|\\.)*'/''/g;
				if ($rest =~ m{^.*?//(.*)$}s && $rest !~ m{^.*?/\*.*?//}s) {
					push @out, [$., $1];
					$rest = '';
				} elsif ($rest =~ s{^.*?/\*}{}s) {
					$in_block = 1;
				} else {
					$rest = '';
				}
			}
		} else {
			# Shell, Perl, make, Python: '#' at the start of a word, outside
			# quotes, not $#, ${#...} or #!.
			next if $. == 1 && $line =~ /^#!/;
			my $code = $line;
			$code =~ s/'[^']*'/''/g;
			$code =~ s/"(?:[^"\\]|\\.)*"/""/g;
			push @out, [$., $1] if $code =~ /(?:^|\s)#(.*)$/;
		}
	}
	close($fh);
	return @out;
}

# exists_path DIR PATH: PATH (with its placeholders) names something, from
# the top or from DIR.
sub exists_path {
	my ($dir, $p) = @_;
	my @alts = ($p);
	while (grep { /\{([^{}]*)\}/ } @alts) {
		@alts = map {
			/^(.*?)\{([^{}]*)\}(.*)$/ ? do { my ($a, $b, $c) = ($1, $2, $3); map { "$a$_$c" } split /,/, $b, -1 } : $_
		} @alts;
	}
	for my $alt (@alts) {
		(my $glob = $alt) =~ s/<[^<>\/]*>/*/g;
		for my $base ('.', $dir) {
			my $pat = $base eq '.' ? $glob : "$base/$glob";
			return 1 if $glob !~ /[*?\[]/ ? -e $pat : scalar(my @m = glob($pat));
			return 1 if $glob =~ m{(?:^|/)[^/.]+$} && scalar(my @s = glob("$pat.*"));
		}
	}
	return 0;
}

my ($checked, $unchecked, @missing) = (0, 0);
for my $f (sort @files) {
	my $dir = dirname($f);
	for my $c (comments($f)) {
		my ($line, $text) = @$c;
		while ($text =~ /$path_re/g) {
			my $p = $1;
			$p =~ s/[.,:;)'`]+$//;   # sentence punctuation
			$p =~ s/\{[^}]*$//;       # an unclosed brace: prose, not a set
			next if $p =~ m{^include/(?:uapi|linux|asm[\w-]*)/};  # a kernel tree's
			# Outside this project's workspace (a copy in a kernel tree) the
			# shared documents are not at hand.
			if ($p =~ m{^(?:\.\./)+shared/} && !-d '../shared') { $unchecked++; next; }
			$checked++;
			push @missing, "$f:$line: $p" unless exists_path($dir, $p);
		}
	}
}

print "TAP version 13\n1..1\n";
print "# $_\n" for @missing;
if (@missing) {
	printf "not ok 1 comment paths: %d of the %d paths named in comments do not exist\n", scalar(@missing), $checked;
} else {
	print "ok 1 comment paths: the $checked paths named in comments exist\n";
}
print "# $unchecked paths under ../shared/ not checked: no ../shared here\n" if $unchecked;
printf "# %d paths checked, %d missing\n", $checked, scalar(@missing);
exit(@missing ? 1 : 0);
