#!/usr/bin/perl
# CTest metrics_promtool: the metric families paymux's services register, rendered by the real
# metrics::Registry, must pass `promtool check metrics` (format and naming lint).
#
#   perl tests/deploy/metrics_promtool.pl --source DIR --exposition PATH
#
# 1. Finds every family name the services pass to counterAdd / gaugeSet / observe /
#    gaugeCallback (services/ and connectors/, tests excluded) and checks paymux's own naming
#    rules: paymux_ prefix, snake_case, counters end in _total, histograms (always seconds in
#    metrics::Registry) end in _seconds, one kind per name.
# 2. Checks that the families docs/operations.md's alerts rely on still exist.
# 3. Runs the exposition program with those families, checks every family is rendered with
#    its TYPE, and pipes the page to promtool. Any promtool finding fails the test.
use strict;
use warnings;
use File::Find;
use Getopt::Long;

my ($source, $exposition) = ('', '');
GetOptions('source=s' => \$source, 'exposition=s' => \$exposition) or die "bad arguments\n";
die "usage: metrics_promtool.pl --source DIR --exposition PATH\n" unless -d $source && -x $exposition;

my %kind_of_call = (counterAdd => 'counter', gaugeSet => 'gauge', observe => 'histogram',
                    gaugeCallback => 'callback');
# Families named in docs/operations.md (alerts and runbooks).
my @documented = qw(paymux_delivery_oldest_due_age_seconds paymux_discrepancies_total
                    paymux_provider_webhooks_total paymux_db_pool_connections_in_use
                    paymux_http_requests_total paymux_http_request_duration_seconds);

my $failures = 0;
my $passes = 0;
sub report {
  my ($name, @errors) = @_;
  if (@errors) {
    $failures++;
    print "FAIL $name\n";
    print "     $_\n" for @errors;
  } else {
    $passes++;
    print "ok   $name\n";
  }
}

# 1. Families registered by the services.
my (%families, @errors);
find({ no_chdir => 1, wanted => sub {
  return unless /\.(cc|h)$/;
  return if /_test\.cc$/ || m{/services/common/metrics\.(cc|h)$};
  open my $fh, '<', $_ or die "$_: $!\n";
  local $/;
  my $text = <$fh>;
  my $file = substr($_, length($source) + 1);
  while ($text =~ /\b(counterAdd|gaugeSet|observe|gaugeCallback)\s*\(\s*"([^"]+)"/g) {
    my ($call, $name) = ($1, $2);
    my $line = 1 + (substr($text, 0, $-[0]) =~ tr/\n//);
    my $kind = $kind_of_call{$call};
    push @{ $families{$name}{kinds}{$kind} }, "$file:$line";
  }
} }, "$source/services", "$source/connectors");

for my $name (sort keys %families) {
  my @kinds = sort keys %{ $families{$name}{kinds} };
  my $where = join ', ', map { @{ $families{$name}{kinds}{$_} } } @kinds;
  push @errors, "$name ($where): registered as more than one kind (@kinds)" if @kinds > 1;
  my $kind = $kinds[0];
  $families{$name}{kind} = $kind;
  push @errors, "$name ($where): want paymux_ followed by lower-case snake_case"
    unless $name =~ /^paymux_[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
  push @errors, "$name ($where): a counter's name must end in _total" if $kind eq 'counter' && $name !~ /_total$/;
  push @errors, "$name ($where): only counters end in _total" if $kind ne 'counter' && $name =~ /_total$/;
  push @errors, "$name ($where): metrics::Registry histograms are in seconds: end the name in _seconds"
    if $kind eq 'histogram' && $name !~ /_seconds$/;
  push @errors, "$name ($where): _count, _sum and _bucket are reserved for histogram series"
    if $name =~ /_(count|sum|bucket)$/;
  push @errors, "$name ($where): use base units (seconds, bytes), not $1"
    if $name =~ /_(ms|millis|milliseconds|us|microseconds|minutes|hours|kb|mb)(_|$)/;
}
push @errors, "found only " . scalar(keys %families) . " metric families in services/ and connectors/; "
  . "the search pattern no longer matches how they are registered" if keys(%families) < 5;
report(scalar(keys %families) . ' metric families registered by the services follow the naming rules', @errors);

# 2. What the runbooks use.
@errors = map { "docs/operations.md relies on $_, which no service registers any more" }
  grep { !$families{$_} } @documented;
report('families used by the alerts in docs/operations.md exist', @errors);

# 3. Render and lint.
my @args = map { "$families{$_}{kind}:$_" } sort keys %families;
my $page = do {
  open my $fh, '-|', $exposition, @args or die "cannot run $exposition: $!\n";
  local $/;
  my $out = <$fh>;
  close $fh;
  die "$exposition exited with status " . ($? >> 8) . "\n" if $?;
  $out;
};
@errors = ();
for my $name (sort keys %families) {
  my $type = $families{$name}{kind} eq 'callback' ? 'gauge' : $families{$name}{kind};
  push @errors, "$name: the page has no '# TYPE $name $type'" unless $page =~ /^# TYPE \Q$name\E \Q$type\E$/m;
}
push @errors, "the page does not end with a newline" unless $page =~ /\n\z/;
report('metrics::Registry renders every family with its TYPE', @errors);

my ($promtool) = grep { -x } map { "$_/promtool" } split /:/, $ENV{PATH} // '';
if (!$promtool) {
  report('promtool check metrics', 'promtool is not on PATH: run scripts/deps (Debian package prometheus)');
} else {
  my $page_file = "metrics_exposition.txt";
  open my $out, '>', $page_file or die "$page_file: $!\n";
  print $out $page;
  close $out;
  my $findings = `"$promtool" check metrics < "$page_file" 2>&1`;
  my $rc = $? >> 8;
  $findings =~ s/\s+$//;
  report("promtool check metrics (" . scalar(@args) . " service families + format corners; page kept in $page_file)",
         $rc == 0 && $findings eq '' ? () : ("promtool exited $rc:", split /\n/, $findings));
}
print "$passes passed, $failures failed\n";
exit($failures ? 1 : 0);
