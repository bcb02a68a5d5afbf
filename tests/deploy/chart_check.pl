#!/usr/bin/perl
# Static checks of helm/paymux (CTest helm_chart_static) for machines without helm or Kubernetes.
#
#   perl tests/deploy/chart_check.pl --source DIR [--paymuxd PATH]
#
# 1. Chart.yaml, values.yaml and ci/*.yaml parse; appVersion matches the CMake project version.
# 2. Every .Values path a template reads exists in values.yaml, and every values.yaml entry is
#    read by some template (a knob that does nothing is a mistake too).
# 3. Every template has balanced {{ if/range/with/define ... end }} and, with its template
#    actions blanked out, parses as YAML into objects with the expected kind, apiVersion and
#    shape (probes, security context, hook annotations, ...).
# 4. values.yaml holds no secret; the security and shutdown settings meet the design; the
#    configuration rendered from values (and each ci/*.yaml) passes `paymuxd check-config`.
# 5. The Dockerfile agrees with the chart and scripts/deps (uid, paths, packages).
# 6. When `helm` is on PATH: helm lint --strict, helm template with the default and ci values,
#    the same checks on the rendered objects, and renders that must fail (a literal secret, a
#    grace period too short).
# 7. Self-test: mutated copies of the chart (a typo'd values path, broken indentation, a missing
#    {{ end }}, a literal secret, an unused knob, a misspelt config key) must each be rejected.
# Exit 0 when everything passes, 1 otherwise.
use strict;
use warnings;
use File::Basename qw(basename);
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Getopt::Long;
use Storable qw(dclone);

BEGIN {
  unless (eval { require YAML::XS; 1 }) {
    print STDERR "chart_check: the perl module YAML::XS is missing: run scripts/deps "
      . "(Debian package libyaml-libyaml-perl)\n";
    exit 1;
  }
}
$YAML::XS::Boolean = 'JSON::PP';

my ($source, $paymuxd) = ('', '');
GetOptions('source=s' => \$source, 'paymuxd=s' => \$paymuxd) or die "bad arguments\n";
die "usage: chart_check.pl --source DIR [--paymuxd PATH]\n" unless $source && -d $source;
$paymuxd = '' unless $paymuxd && -x $paymuxd;

my $chart_dir = "$source/helm/paymux";
my $uid = 10001;
my %api_version = (
  Deployment => 'apps/v1', Job => 'batch/v1', Service => 'v1', ConfigMap => 'v1',
  ServiceAccount => 'v1', Ingress => 'networking.k8s.io/v1',
  HorizontalPodAutoscaler => 'autoscaling/v2', PodDisruptionBudget => 'policy/v1',
  ServiceMonitor => 'monitoring.coreos.com/v1',
  PodMonitor => 'monitoring.coreos.com/v1',
);

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

sub slurp {
  my ($path) = @_;
  open my $fh, '<', $path or die "cannot read $path: $!\n";
  local $/;
  return scalar <$fh>;
}

sub load_yaml_file {
  my ($path, $errors) = @_;
  my $doc = eval { YAML::XS::LoadFile($path) };
  if ($@) {
    (my $e = $@) =~ s/\s+$//;
    push @$errors, "$path: invalid YAML: $e";
    return undef;
  }
  return $doc;
}

sub is_true  { my ($v) = @_; return ref($v) eq 'JSON::PP::Boolean' && $v }
sub is_false { my ($v) = @_; return ref($v) eq 'JSON::PP::Boolean' && !$v }

# Helm's merge of a user values file over the defaults: maps merge, null deletes, rest replaces.
sub merge_values {
  my ($base, $over) = @_;
  my $out = dclone($base);
  for my $k (keys %$over) {
    my $v = $over->{$k};
    if (!defined $v) {
      delete $out->{$k};
    } elsif (ref($v) eq 'HASH' && ref($out->{$k}) eq 'HASH') {
      $out->{$k} = merge_values($out->{$k}, $v);
    } else {
      $out->{$k} = dclone({ v => $v })->{v};
    }
  }
  return $out;
}

sub dig {
  my ($node, @path) = @_;
  for my $p (@path) {
    return undef unless defined $node;
    if (ref($node) eq 'HASH') { $node = $node->{$p} }
    elsif (ref($node) eq 'ARRAY' && $p =~ /^\d+$/) { $node = $node->[$p] }
    else { return undef }
  }
  return $node;
}

# --- template parsing --------------------------------------------------------------------------

# The actions of a template: [{text, line}], comments dropped.
sub template_actions {
  my ($text) = @_;
  my @actions;
  while ($text =~ /\{\{(.*?)\}\}/gs) {
    my $body = $1;
    my $line = 1 + (substr($text, 0, $-[0]) =~ tr/\n//);
    $body =~ s/^-?\s*//;
    $body =~ s/\s*-?$//;
    next if $body =~ m{^/\*.*\*/$}s;
    push @actions, { text => $body, line => $line };
  }
  return @actions;
}

# Checks {{ if/range/with/define/block ... else ... end }} nesting and stray delimiters.
sub check_balance {
  my ($file, $text) = @_;
  my @errors;
  my @stack;
  for my $act (template_actions($text)) {
    my ($word) = $act->{text} =~ /^(\w+)/;
    $word //= '';
    if ($word =~ /^(if|range|with|define|block)$/) {
      push @stack, [$word, $act->{line}];
    } elsif ($word eq 'else') {
      push @errors, "$file:$act->{line}: {{ else }} outside if/with/range"
        unless @stack && $stack[-1][0] =~ /^(if|with|range)$/;
    } elsif ($word eq 'end') {
      if (@stack) { pop @stack } else { push @errors, "$file:$act->{line}: {{ end }} without an opening action" }
    }
  }
  push @errors, "$file:$_->[1]: {{ $_->[0] }} is never closed with {{ end }}" for @stack;
  my $stripped = $text;
  $stripped =~ s/\{\{.*?\}\}//gs;
  if ($stripped =~ /(\{\{|\}\})/) {
    my $line = 1 + (substr($stripped, 0, $-[0]) =~ tr/\n//);
    push @errors, "$file: unmatched '$1' (about line $line)";
  }
  return @errors;
}

# .Values paths a template reads: literal .Values.a.b, variables bound to them
# ($x := .Values.a), and (index $.Values $c).a with $c ranging over a list of strings.
sub values_paths {
  my ($text) = @_;
  my (%alias, %lists, @paths);
  my @actions = template_actions($text);
  for my $act (@actions) {
    my $t = $act->{text};
    if ($t =~ /^range\s+\$(\w+)\s*:=\s*list\s+((?:"[^"]*"\s*)+)$/) {
      my ($var, $items) = ($1, $2);
      $lists{$var} = [$items =~ /"([^"]*)"/g];
    }
  }
  for my $act (@actions) {
    my $t = $act->{text};
    # why: expand (index $.Values $c) into one literal path per value $c ranges over.
    my @variants = ($t);
    while (grep { /\(index \$?\.Values \$(\w+)\)/ } @variants) {
      @variants = map {
        my $v = $_;
        if ($v =~ /\(index \$?\.Values \$(\w+)\)/ && $lists{$1}) {
          my $var = $1;
          map { (my $x = $v) =~ s/\(index \$?\.Values \$\Q$var\E\)/.Values.$_/; $x } @{ $lists{$var} };
        } else {
          (my $x = $v) =~ s/\(index \$?\.Values \$\w+\)/.UNRESOLVED/;
          $x;
        }
      } @variants;
    }
    for my $v (@variants) {
      # why: binding a variable is not a use; its later $var.x reads are. The path must exist all the same.
      my $binding = $v =~ /^\$(\w+)\s*:?=\s*\$?\.Values((?:\.\w+)*)\s*$/;
      push @{ $alias{$1} }, $2 if $binding;
      while ($v =~ /(?<![\w\$])\$?\.Values((?:\.\w+)+)/g) {
        push @paths, { path => $1, line => $act->{line}, use => !$binding };
      }
      while ($v =~ /\$(\w+)((?:\.\w+)+)/g) {
        my ($var, $rest) = ($1, $2);
        next unless $alias{$var};
        push @paths, { path => "$_$rest", line => $act->{line}, use => 1 } for @{ $alias{$var} };
      }
    }
  }
  return @paths;
}

# The template with every action blanked out so the rest parses as YAML: a line made only of
# actions becomes a comment (line numbers stay), an action inside text becomes TPL.
sub blank_template {
  my ($text) = @_;
  # why: multi-line actions would break the line structure; collapse them first.
  $text =~ s/\{\{(.*?)\}\}/my $x = $1; my $n = ($x =~ tr{\n}{}); $x =~ s{\n}{ }g; "{{$x}}" . ("\n#tpl" x $n)/gse;
  my @out;
  for my $line (split /\n/, $text, -1) {
    if ($line =~ /\{\{/) {
      (my $rest = $line) =~ s/\{\{.*?\}\}//g;
      if ($rest =~ /^\s*$/) {
        my ($indent) = $line =~ /^(\s*)/;
        push @out, "$indent#tpl";
        next;
      }
      $line =~ s/\{\{.*?\}\}/TPL/g;
    }
    push @out, $line;
  }
  return join "\n", @out;
}

sub parse_documents {
  my ($file, $text, $errors) = @_;
  my @docs;
  my $offset = 0;
  for my $chunk (split /^---[ \t]*$/m, $text) {
    my $doc = eval { YAML::XS::Load($chunk) };
    if ($@) {
      (my $e = $@) =~ s/\s+$//;
      $e =~ s/\n\s*/ /g;
      push @$errors, "$file: not valid YAML once template actions are blanked out "
        . "(document starting at line " . ($offset + 1) . "): $e";
    } elsif (defined $doc) {
      push @docs, $doc;
    }
    $offset += ($chunk =~ tr/\n//) + 1;
  }
  return @docs;
}

# --- object checks (shared by the blanked templates and helm's rendered output) ----------------

sub pod_spec_of { my ($o) = @_; return dig($o, qw(spec template spec)) }

sub check_object_shape {
  my ($where, $o) = @_;
  my @e;
  return ("$where: a document is not a mapping") unless ref($o) eq 'HASH';
  my $kind = $o->{kind} // '';
  return ("$where: no kind") unless $kind;
  my $id = "$kind " . (dig($o, qw(metadata name)) // "?");
  if (!$api_version{$kind}) {
    push @e, "$where: unexpected kind $kind";
  } elsif (($o->{apiVersion} // '') ne $api_version{$kind}) {
    push @e, "$where: $kind must use apiVersion $api_version{$kind}, not " . ($o->{apiVersion} // 'none');
  }
  push @e, "$where: $kind has no metadata.name" unless defined dig($o, qw(metadata name));
  push @e, "$where: $kind has no metadata.labels"
    unless ref($o->{metadata}) eq 'HASH' && exists $o->{metadata}{labels};
  if ($kind eq 'Deployment' || $kind eq 'Job') {
    my $spec = pod_spec_of($o);
    if (ref($spec) ne 'HASH') {
      push @e, "$where: $id has no spec.template.spec";
      return @e;
    }
    push @e, "$where: $id spec.selector.matchLabels missing"
      if $kind eq 'Deployment' && ref(dig($o, qw(spec selector))) ne 'HASH';
    push @e, "$where: $id pod must set automountServiceAccountToken: false"
      unless is_false($spec->{automountServiceAccountToken});
    push @e, "$where: $id pod has no securityContext" unless exists $spec->{securityContext};
    my $containers = $spec->{containers};
    if (ref($containers) ne 'ARRAY' || !@$containers) {
      push @e, "$where: $id has no containers";
    } else {
      for my $c (@$containers) {
        my $n = $c->{name} // '?';
        push @e, "$where: $id: container $n has no image" unless defined $c->{image};
        push @e, "$where: $id: container $n has no securityContext" unless exists $c->{securityContext};
        push @e, "$where: $id: container $n has no resources" unless exists $c->{resources};
      }
    }
  }
  if ($kind eq 'Service') {
    push @e, "$where: $id has no ports" unless ref(dig($o, qw(spec ports))) eq 'ARRAY';
  }
  if ($kind eq 'HorizontalPodAutoscaler') {
    push @e, "$where: $id has no scaleTargetRef" unless ref(dig($o, qw(spec scaleTargetRef))) eq 'HASH';
  }
  if ($kind eq 'PodDisruptionBudget') {
    push @e, "$where: $id has no selector" unless ref(dig($o, qw(spec selector))) eq 'HASH';
  }
  return @e;
}

sub container_named {
  my ($o, $name) = @_;
  my $cs = dig(pod_spec_of($o), 'containers');
  return undef unless ref($cs) eq 'ARRAY';
  for my $c (@$cs) { return $c if ($c->{name} // '') eq $name }
  return undef;
}

sub args_of { my ($c) = @_; return join ' ', @{ ref($c->{args}) eq 'ARRAY' ? $c->{args} : [] } }

# Checks that hold both for blanked templates (values unknown: TPL) and rendered objects.
sub check_paymux_objects {
  my ($where, $rendered, @objects) = @_;
  my @e;
  my %by;
  for my $o (@objects) {
    push @e, check_object_shape($where, $o);
    next unless ref($o) eq 'HASH' && $o->{kind};
    my $component = dig($o, qw(metadata labels), 'app.kubernetes.io/component') // '';
    push @{ $by{"$o->{kind}/$component"} }, $o;
  }
  my ($api) = @{ $by{'Deployment/api'} // [] };
  my ($worker) = @{ $by{'Deployment/worker'} // [] };
  my ($job) = @{ $by{'Job/migrate'} // [] };
  # Blanked templates cannot see labels computed by include; find by container name instead.
  for my $o (@objects) {
    next unless ref($o) eq 'HASH' && ($o->{kind} // '') =~ /^(Deployment|Job)$/;
    $api //= $o if container_named($o, 'api');
    $worker //= $o if container_named($o, 'worker');
    $job //= $o if container_named($o, 'migrate');
  }
  push @e, "$where: no api Deployment (container api)" unless $api;
  push @e, "$where: no worker Deployment (container worker)" unless $worker;
  push @e, "$where: no migration Job (container migrate)" unless $job;
  if ($api) {
    my $c = container_named($api, 'api');
    push @e, "$where: api must run 'serve --config /etc/paymux/paymux.yaml', runs '" . args_of($c) . "'"
      unless args_of($c) eq 'serve --config /etc/paymux/paymux.yaml';
    push @e, "$where: api livenessProbe must GET /healthz"
      unless (dig($c, qw(livenessProbe httpGet path)) // '') eq '/healthz';
    push @e, "$where: api readinessProbe must GET /readyz"
      unless (dig($c, qw(readinessProbe httpGet path)) // '') eq '/readyz';
    my $pre = dig($c, qw(lifecycle preStop exec command));
    push @e, "$where: api needs a preStop sleep"
      unless ref($pre) eq 'ARRAY' && ($pre->[0] // '') eq 'sleep';
    push @e, "$where: api pod template needs a checksum/config annotation"
      unless defined dig($api, qw(spec template metadata annotations), 'checksum/config');
    push @e, "$where: api has no terminationGracePeriodSeconds"
      unless defined dig(pod_spec_of($api), 'terminationGracePeriodSeconds');
    push @e, "$where: api container has no port named http"
      unless grep { ($_->{name} // '') eq 'http' } @{ $c->{ports} // [] };
    if ($rendered) {
      my $grace = dig(pod_spec_of($api), 'terminationGracePeriodSeconds');
      my $sleep = $pre->[1] // 0;
      push @e, "$where: terminationGracePeriodSeconds $grace must exceed the preStop sleep"
        unless $grace > $sleep;
    }
  }
  if ($worker) {
    my $c = container_named($worker, 'worker');
    push @e, "$where: worker must run 'work --config /etc/paymux/paymux.yaml', runs '" . args_of($c) . "'"
      unless args_of($c) eq 'work --config /etc/paymux/paymux.yaml';
    push @e, "$where: worker pod template needs a checksum/config annotation"
      unless defined dig($worker, qw(spec template metadata annotations), 'checksum/config');
  }
  if ($job) {
    my $c = container_named($job, 'migrate');
    push @e, "$where: migration Job must run 'migrate', runs '" . args_of($c) . "'"
      unless args_of($c) eq 'migrate';
    my $ann = dig($job, qw(metadata annotations)) // {};
    push @e, "$where: migration Job must be a pre-install,pre-upgrade hook"
      unless ($ann->{'helm.sh/hook'} // '') eq 'pre-install,pre-upgrade';
    push @e, "$where: migration Job needs hook-delete-policy before-hook-creation"
      unless ($ann->{'helm.sh/hook-delete-policy'} // '') eq 'before-hook-creation';
    push @e, "$where: migration Job pod must not restart in place"
      unless (dig(pod_spec_of($job), 'restartPolicy') // '') eq 'Never';
  }
  if ($rendered) {
    for my $o (grep { ($_->{kind} // '') =~ /^(Deployment|Job)$/ } @objects) {
      my $name = dig($o, qw(metadata name));
      my $pod = dig(pod_spec_of($o), 'securityContext') // {};
      push @e, "$where: $name pod must run as non-root uid $uid"
        unless is_true($pod->{runAsNonRoot}) && ($pod->{runAsUser} // 0) == $uid;
      for my $c (@{ dig(pod_spec_of($o), 'containers') // [] }) {
        my $sc = $c->{securityContext} // {};
        push @e, "$where: $name/$c->{name} needs readOnlyRootFilesystem: true"
          unless is_true($sc->{readOnlyRootFilesystem});
        push @e, "$where: $name/$c->{name} needs allowPrivilegeEscalation: false"
          unless is_false($sc->{allowPrivilegeEscalation});
        push @e, "$where: $name/$c->{name} must drop ALL capabilities"
          unless grep { $_ eq 'ALL' } @{ dig($sc, qw(capabilities drop)) // [] };
        for my $env (@{ $c->{env} // [] }) {
          next unless ($env->{name} // '') =~ /^(PAYMUX_DATABASE_URL|PAYMUX_SECRETS_KEY)$|SECRET|KEY|TOKEN|PASSWORD/;
          push @e, "$where: $name/$c->{name} env $env->{name} must come from a Secret (valueFrom.secretKeyRef)"
            unless defined dig($env, qw(valueFrom secretKeyRef name));
        }
      }
    }
  }
  return @e;
}

# --- values checks -----------------------------------------------------------------------------

sub values_leaves {
  my ($node, $prefix, $out) = @_;
  if (ref($node) eq 'HASH' && %$node) {
    values_leaves($node->{$_}, "$prefix.$_", $out) for sort keys %$node;
  } else {
    push @$out, $prefix;
  }
}

# Secrets must never be written into values: only references to Kubernetes Secrets.
sub check_no_secrets {
  my ($file, $values) = @_;
  my @e;
  my $walk;
  $walk = sub {
    my ($node, $path) = @_;
    if (ref($node) eq 'HASH') {
      $walk->($node->{$_}, "$path.$_") for sort keys %$node;
    } elsif (ref($node) eq 'ARRAY') {
      $walk->($node->[$_], "$path\[$_\]") for 0 .. $#$node;
    } elsif (defined $node && !ref($node)) {
      if ($node =~ /(whsec_[A-Za-z0-9+\/=]{6,}|\b(sk|rk|pk)_(live|test)_\w+|pmx_(live|test)_\w+|postgres(ql)?:\/\/[^\s\/]*:[^\s\/]*@)/) {
        push @e, "$file: $path holds what looks like a secret; reference a Secret instead";
      }
    }
  };
  $walk->($values, '');
  my $connectors = dig($values, qw(config connectors)) // [];
  for my $i (0 .. $#$connectors) {
    my $c = $connectors->[$i];
    my %refs = (%{ $c->{credentials} // {} });
    $refs{'webhook.secret'} = dig($c, qw(webhook secret)) if defined dig($c, qw(webhook secret));
    for my $k (sort keys %refs) {
      next if !defined $refs{$k} || $refs{$k} eq '';
      my $where = $k eq 'webhook.secret' ? $k : "credentials.$k";
      push @e, "$file: config.connectors[$i].$where must be a \${NAME} or \${file:/path} reference"
        unless $refs{$k} =~ /^\$\{[^}]+\}$/;
    }
  }
  for my $k (qw(url)) {
    push @e, "$file: config.database.$k must not be set (the chart renders \${PAYMUX_DATABASE_URL})"
      if defined dig($values, qw(config database), $k);
  }
  push @e, "$file: config.delivery.encryption_key must not be set (the chart renders \${PAYMUX_SECRETS_KEY})"
    if defined dig($values, qw(config delivery encryption_key));
  return @e;
}

sub check_values_policy {
  my ($file, $v) = @_;
  my @e;
  my $pod = $v->{podSecurityContext} // {};
  my $sc = $v->{securityContext} // {};
  push @e, "$file: podSecurityContext.runAsNonRoot must be true" unless is_true($pod->{runAsNonRoot});
  push @e, "$file: podSecurityContext.runAsUser must be $uid" unless ($pod->{runAsUser} // 0) == $uid;
  push @e, "$file: securityContext.readOnlyRootFilesystem must be true" unless is_true($sc->{readOnlyRootFilesystem});
  push @e, "$file: securityContext.allowPrivilegeEscalation must be false" unless is_false($sc->{allowPrivilegeEscalation});
  push @e, "$file: securityContext.capabilities.drop must contain ALL"
    unless grep { $_ eq 'ALL' } @{ dig($sc, qw(capabilities drop)) // [] };
  my $grace_ms = dig($v, qw(config server shutdown_grace_ms)) // 20000;
  my $need = 1000 * (dig($v, qw(api preStopSleepSeconds)) // 0) + $grace_ms;
  my $have = 1000 * (dig($v, qw(api terminationGracePeriodSeconds)) // 0);
  push @e, "$file: api.terminationGracePeriodSeconds (${have} ms) must exceed preStopSleepSeconds + "
    . "config.server.shutdown_grace_ms ($need ms)" unless $have > $need;
  push @e, "$file: api.preStopSleepSeconds must be at least 1" unless (dig($v, qw(api preStopSleepSeconds)) // 0) >= 1;
  push @e, "$file: ingress.paths.api.path must be /v1" unless (dig($v, qw(ingress paths api path)) // '') eq '/v1';
  push @e, "$file: ingress.paths.webhooks.path must be /webhooks"
    unless (dig($v, qw(ingress paths webhooks path)) // '') eq '/webhooks';
  for my $c (qw(api worker)) {
    my $pdb = dig($v, $c, 'podDisruptionBudget') // {};
    push @e, "$file: $c.podDisruptionBudget needs exactly one of minAvailable / maxUnavailable"
      if is_true($pdb->{enabled}) && (defined $pdb->{minAvailable}) == (defined $pdb->{maxUnavailable});
  }
  return @e;
}

# The configuration file the chart renders from values (mirrors paymux.config in _helpers.tpl).
sub config_from_values {
  my ($v) = @_;
  my $cfg = dclone($v->{config} // {});
  $cfg->{server} //= {};
  $cfg->{server}{listen} = "0.0.0.0:" . ($v->{containerPort} // 8080);
  $cfg->{database} //= {};
  $cfg->{database}{url} = '${PAYMUX_DATABASE_URL}';
  if (dig($v, qw(secrets encryptionKey existingSecret))) {
    $cfg->{delivery} //= {};
    $cfg->{delivery}{encryption_key} = '${PAYMUX_SECRETS_KEY}';
  }
  return $cfg;
}

sub provided_env {
  my ($v) = @_;
  my @names = ('PAYMUX_DATABASE_URL');
  push @names, 'PAYMUX_SECRETS_KEY' if dig($v, qw(secrets encryptionKey existingSecret));
  push @names, map { $_->{name} // () } @{ dig($v, qw(secrets env)) // [] }, @{ $v->{extraEnv} // [] };
  return @names;
}

# Runs `paymuxd check-config` on a configuration text with stand-in values for its ${NAME}s.
sub check_config_text {
  my ($label, $text, @provided) = @_;
  my @e;
  my %provided = map { $_ => 1 } @provided;
  my %env;
  while ($text =~ /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g) {
    my $name = $1;
    push @e, "$label: the configuration uses \${$name} but no environment variable $name is provided "
      . "(secrets.env / extraEnv)" unless $provided{$name};
    $env{$name} = $name eq 'PAYMUX_DATABASE_URL' ? 'postgresql://paymux@127.0.0.1:1/paymux'
      : $name eq 'PAYMUX_SECRETS_KEY' ? 'I92XsHwHZxzL3seC7sYgMWqjOU5HSh/YCTjLEiPOBvg='
      : $name =~ /URL/ ? 'http://127.0.0.1:1'
      : $name =~ /WEBHOOK/ ? 'whsec_c3RhbmQtaW4tc2VjcmV0LWZvci1jaGVjaw=='
      : 'stand-in-for-check';
  }
  return @e unless $paymuxd;
  my $dir = tempdir(CLEANUP => 1);
  my $path = "$dir/paymux.yaml";
  open my $fh, '>', $path or die "$path: $!\n";
  print $fh $text;
  close $fh;
  local %ENV = (%ENV, %env);
  my $out = `"$paymuxd" check-config "$path" 2>&1`;
  if ($? != 0) {
    $out =~ s/\s+$//;
    push @e, "$label: paymuxd check-config rejects the rendered configuration: $out";
  }
  return @e;
}

# --- the whole static check, on a chart directory ----------------------------------------------

sub static_checks {
  my ($dir, $quiet) = @_;
  my %results;
  my @e;
  my $chart = load_yaml_file("$dir/Chart.yaml", \@e);
  if ($chart) {
    push @e, "Chart.yaml: apiVersion must be v2" unless ($chart->{apiVersion} // '') eq 'v2';
    push @e, "Chart.yaml: name must be paymux" unless ($chart->{name} // '') eq 'paymux';
    push @e, "Chart.yaml: version must be SemVer" unless ($chart->{version} // '') =~ /^\d+\.\d+\.\d+/;
    my ($project) = slurp("$source/CMakeLists.txt") =~ /project\(paymux VERSION ([0-9.]+)/;
    push @e, "Chart.yaml: appVersion " . ($chart->{appVersion} // 'none') . " differs from the CMake project version "
      . ($project // '?') unless defined $project && ($chart->{appVersion} // '') eq $project;
  }
  my $values = load_yaml_file("$dir/values.yaml", \@e);
  my %ci;
  for my $f (sort glob("$dir/ci/*.yaml")) {
    my $v = load_yaml_file($f, \@e);
    $ci{ basename($f) } = $v if ref($v) eq 'HASH';
  }
  $results{'Chart.yaml, values.yaml and ci/*.yaml parse'} = [@e];
  return \%results unless ref($values) eq 'HASH';

  # Values paths.
  my (@path_errors, %used);
  my @templates = sort glob("$dir/templates/*");
  my %texts = map { $_ => slurp($_) } @templates;
  for my $t (@templates) {
    my $name = 'templates/' . basename($t);
    for my $p (values_paths($texts{$t})) {
      my @segs = grep { length } split /\./, $p->{path};
      if (grep { $_ eq 'UNRESOLVED' } @segs) {
        push @path_errors, "$name:$p->{line}: (index .Values ...) with a key the checker cannot resolve";
        next;
      }
      my $node = $values;
      my $walked = '';
      for my $s (@segs) {
        if (ref($node) ne 'HASH' || !exists $node->{$s}) {
          push @path_errors, "$name:$p->{line}: .Values$p->{path} is not in values.yaml"
            . ($walked ? " (.Values$walked has no key '$s')" : '');
          last;
        }
        $node = $node->{$s};
        $walked .= ".$s";
      }
      $used{ $p->{path} } = 1 if $p->{use};
    }
  }
  my @leaves;
  values_leaves($values, '', \@leaves);
  for my $leaf (@leaves) {
    my $covered = 0;
    for my $u (keys %used) {
      if ($leaf eq $u || index($leaf, "$u.") == 0) { $covered = 1; last }
    }
    push @path_errors, "values.yaml: .Values$leaf is read by no template" unless $covered;
  }
  $results{'every .Values path in templates exists in values.yaml, and every value is used'} = \@path_errors;

  # Template structure.
  my (@structure, @objects);
  for my $t (@templates) {
    my $name = 'templates/' . basename($t);
    push @structure, check_balance($name, $texts{$t});
    next unless $t =~ /\.yaml$/;
    my @docs = parse_documents($name, blank_template($texts{$t}), \@structure);
    push @structure, "$name: renders no object" unless @docs;
    push @objects, @docs;
  }
  push @structure, check_paymux_objects('templates', 0, @objects);
  my %kinds = map { ($_->{kind} // '') => 1 } grep { ref($_) eq 'HASH' } @objects;
  for my $k (sort keys %api_version) {
    push @structure, "templates: no $k" unless $kinds{$k};
  }
  $results{'templates are balanced and parse as Kubernetes objects'} = \@structure;

  # Values policy, secrets and the rendered configuration.
  my @policy = (check_values_policy('values.yaml', $values), check_no_secrets('values.yaml', $values));
  for my $f (sort keys %ci) {
    my $merged = merge_values($values, $ci{$f});
    push @policy, check_values_policy("ci/$f", $merged), check_no_secrets("ci/$f", $ci{$f});
  }
  $results{'values: security, shutdown timing, no secret values'} = \@policy;

  my @config;
  for my $f ('values.yaml', sort keys %ci) {
    my $merged = $f eq 'values.yaml' ? $values : merge_values($values, $ci{$f});
    my $text = YAML::XS::Dump(config_from_values($merged));
    push @config, check_config_text($f eq 'values.yaml' ? 'values.yaml' : "ci/$f", $text, provided_env($merged));
  }
  my $config_name = 'configuration from values passes ' . ($paymuxd ? 'paymuxd check-config' : 'the ${NAME} check (paymuxd not built: check-config skipped)');
  $results{$config_name} = \@config;
  return \%results;
}

sub print_results {
  my ($results) = @_;
  report($_, @{ $results->{$_} }) for sort keys %$results;
}

# --- Dockerfile --------------------------------------------------------------------------------

sub dockerfile_checks {
  my @e;
  my $path = "$source/Dockerfile";
  return ("Dockerfile is missing") unless -f $path;
  my $text = slurp($path);
  (my $joined = $text) =~ s/\\\n/ /g;
  my @stages = split /^FROM\s/m, $joined;
  shift @stages;
  return ("Dockerfile: want a build stage and a runtime stage") unless @stages >= 2;
  my ($build, $runtime) = ($stages[0], $stages[-1]);
  push @e, "Dockerfile: stages must be FROM debian:bookworm-slim"
    unless $text =~ /DEBIAN_IMAGE=debian:bookworm-slim/ || $text =~ /^FROM debian:bookworm-slim/m;
  push @e, "Dockerfile: the build must configure with -DBUILD_TESTING=OFF" unless $build =~ /-DBUILD_TESTING=OFF/;
  push @e, "Dockerfile: the build must be CMAKE_BUILD_TYPE=Release" unless $build =~ /-DCMAKE_BUILD_TYPE=Release/;
  my ($deps) = slurp("$source/scripts/deps") =~ /^PACKAGES=\(\s*(.*?)^\)/ms;
  $deps =~ s/#.*$//mg if defined $deps;
  push @e, "scripts/deps: cannot find its PACKAGES list (update chart_check.pl)"
    unless defined $deps && $deps =~ /-dev\b/;
  for my $pkg (split ' ', $deps // '') {
    next unless $pkg =~ /-dev$/ && $pkg !~ /gtest|gmock|clang/;  # test-only: not in the image
    push @e, "Dockerfile: build stage lacks $pkg (in scripts/deps)" unless $build =~ /\Q$pkg\E/;
  }
  for my $pkg (qw(libpistache0 libpqxx-6.4 libyaml-cpp0.7 libcurl4 libssl3 ca-certificates)) {
    push @e, "Dockerfile: runtime stage must install $pkg" unless $runtime =~ /\s\Q$pkg\E(\s|$)/;
  }
  push @e, "Dockerfile: runtime stage installs -dev packages" if $runtime =~ /apt-get install[^\n]*-dev\b/;
  push @e, "Dockerfile: final USER must be $uid" unless $runtime =~ /^USER $uid(:$uid)?\s*$/m;
  push @e, "Dockerfile: ENTRYPOINT must be [\"paymuxd\"]" unless $runtime =~ /^ENTRYPOINT \["paymuxd"\]\s*$/m;
  for my $env (qw(PAYMUX_MIGRATIONS_DIR=/usr/share/paymux/migrations PAYMUX_SCHEMAS_DIR=/usr/share/paymux/schemas)) {
    push @e, "Dockerfile: must set $env" unless $runtime =~ /\Q$env\E/;
  }
  for my $bin (qw(paymuxd paymux-sim)) {
    push @e, "Dockerfile: the image must contain $bin" unless $build =~ m{/usr/local/bin/\Q$bin\E};
  }
  push @e, "Dockerfile: migrations and schemas must be copied to /usr/share/paymux"
    unless $build =~ m{cp -r /src/migrations /src/schemas /out/usr/share/paymux/};
  my $ignore = -f "$source/.dockerignore" ? slurp("$source/.dockerignore") : '';
  push @e, ".dockerignore must exclude .git and build directories"
    unless $ignore =~ /^\.git$/m && $ignore =~ /^build-\*$/m;
  for my $needed (qw(services connectors migrations schemas cmake CMakeLists.txt bench)) {
    push @e, ".dockerignore must not exclude $needed (the build needs it)" if $ignore =~ /^\Q$needed\E\/?$/m;
  }
  return @e;
}

# --- helm --------------------------------------------------------------------------------------

sub run_capture {
  my (@cmd) = @_;
  my $pid = open(my $fh, '-|');
  die "fork: $!\n" unless defined $pid;
  if (!$pid) {
    open STDERR, '>&', \*STDOUT;
    exec @cmd or die "exec $cmd[0]: $!\n";
  }
  local $/;
  my $out = <$fh> // '';
  close $fh;
  return ($? >> 8, $out);
}

sub helm_checks {
  my ($helm) = @_;
  my $ci_dir = "$chart_dir/ci";
  my @value_sets = ([ 'default values', [] ]);
  push @value_sets, [ "ci/" . basename($_), [ '-f', $_ ] ] for sort glob("$ci_dir/*.yaml");
  for my $set (@value_sets) {
    my ($label, $args) = @$set;
    my ($rc, $out) = run_capture($helm, 'lint', '--strict', $chart_dir, @$args);
    report("helm lint --strict ($label)", $rc == 0 ? () : (split /\n/, $out));
    ($rc, $out) = run_capture($helm, 'template', 'paymux', $chart_dir, '--namespace', 'payments', @$args);
    if ($rc != 0) {
      report("helm template ($label)", split /\n/, $out);
      next;
    }
    my @errors;
    my @objects = parse_documents("helm template ($label)", $out, \@errors);
    push @errors, check_paymux_objects("rendered ($label)", 1, @objects);
    my ($cm) = grep { ($_->{kind} // '') eq 'ConfigMap' } @objects;
    my $text = dig($cm, 'data', 'paymux.yaml');
    if (!defined $text) {
      push @errors, "rendered ($label): no ConfigMap with data.paymux.yaml";
    } else {
      my $cfg = eval { YAML::XS::Load($text) };
      push @errors, "rendered ($label): paymux.yaml is not YAML: $@" unless ref($cfg) eq 'HASH';
      push @errors, "rendered ($label): database.url must be \${PAYMUX_DATABASE_URL}"
        unless (dig($cfg, qw(database url)) // '') eq '${PAYMUX_DATABASE_URL}';
      my @env_names;
      for my $o (grep { ($_->{kind} // '') eq 'Deployment' } @objects) {
        push @env_names, map { $_->{name} } map { @{ $_->{env} // [] } } @{ dig(pod_spec_of($o), 'containers') // [] };
      }
      push @errors, check_config_text("rendered ($label)", $text, @env_names);
    }
    my %count;
    $count{ $_->{kind} // '' }++ for @objects;
    if ($label eq 'default values') {
      push @errors, "rendered ($label): expected no $_ by default" for grep { $count{$_} } qw(Ingress ServiceMonitor PodMonitor HorizontalPodAutoscaler);
      push @errors, "rendered ($label): Deployments must set replicas without an HPA"
        if grep { ($_->{kind} // '') eq 'Deployment' && !defined dig($_, qw(spec replicas)) } @objects;
    } else {
      for my $o (grep { ($_->{kind} // '') eq 'Ingress' } @objects) {
        my @paths = map { $_->{path} } map { @{ dig($_, qw(http paths)) // [] } } @{ dig($o, qw(spec rules)) // [] };
        push @errors, "rendered ($label): Ingress must route /v1 and /webhooks only, routes @paths"
          unless (grep { $_ eq '/v1' } @paths) && (grep { $_ eq '/webhooks' } @paths)
          && !grep { $_ !~ m{^/(v1|webhooks)$} } @paths;
      }
      for my $h (grep { ($_->{kind} // '') eq 'HorizontalPodAutoscaler' } @objects) {
        my $target = dig($h, qw(spec scaleTargetRef name));
        my ($d) = grep { ($_->{kind} // '') eq 'Deployment' && dig($_, qw(metadata name)) eq $target } @objects;
        push @errors, "rendered ($label): HPA targets $target, which is not a Deployment of the chart" unless $d;
        push @errors, "rendered ($label): $target sets replicas although an HPA scales it"
          if $d && defined dig($d, qw(spec replicas));
      }
    }
    report("helm template ($label): objects and configuration", @errors);
  }
  # Renders that must fail.
  my @must_fail = (
    [ 'a literal provider secret', 'literal secret',
      'config.connectors[0].id=x,config.connectors[0].type=sandbox,config.connectors[0].base_url=http://x,config.connectors[0].credentials.api_key=sk_live_0123' ],
    [ 'a ${NAME} no environment variable provides', 'no environment variable',
      'config.connectors[0].id=x,config.connectors[0].type=sandbox,config.connectors[0].base_url=http://x,config.connectors[0].credentials.api_key=${MISSING_KEY}' ],
    [ 'a grace period shorter than preStop + shutdown_grace_ms', 'must exceed', 'api.terminationGracePeriodSeconds=20' ],
  );
  my @errors;
  for my $case (@must_fail) {
    my ($what, $expect, $set) = @$case;
    my ($rc, $out) = run_capture($helm, 'template', 'paymux', $chart_dir, '--set', $set);
    push @errors, "helm template with $what rendered (exit 0); it must fail" if $rc == 0;
    push @errors, "helm template with $what failed without saying '$expect': $out" if $rc != 0 && $out !~ /\Q$expect\E/;
  }
  report('helm template refuses literal secrets, unknown ${NAME}s and short grace periods', @errors);
}

# --- self-test: the checks must catch real mistakes --------------------------------------------

sub copy_tree {
  my ($from, $to) = @_;
  make_path($to);
  opendir my $dh, $from or die "$from: $!\n";
  for my $e (grep { !/^\.\.?$/ } readdir $dh) {
    if (-d "$from/$e") { copy_tree("$from/$e", "$to/$e") }
    else { copy("$from/$e", "$to/$e") or die "copy $from/$e: $!\n" }
  }
}

sub mutate {
  my ($file, $from, $to) = @_;
  my $text = slurp($file);
  return 0 unless $text =~ s/\Q$from\E/$to/;
  open my $fh, '>', $file or die "$file: $!\n";
  print $fh $text;
  close $fh;
  return 1;
}

sub self_test {
  my @cases = (
    [ 'a typo in a .Values path', 'templates/deployment-api.yaml',
      'replicas: {{ $api.replicaCount }}', 'replicas: {{ $api.replicaCont }}', qr/replicaCont is not in values\.yaml/ ],
    [ 'a mis-indented probe', 'templates/deployment-api.yaml',
      "\n          readinessProbe:", "\n            readinessProbe:", qr/readinessProbe must GET \/readyz/ ],
    [ 'a line outdented into invalid YAML', 'templates/service.yaml',
      "\n  type: {{ .Values.service.type }}", "\n type: {{ .Values.service.type }}", qr/not valid YAML/ ],
    [ 'a missing {{ end }}', 'templates/servicemonitor.yaml', "\n{{- end }}\n", "\n", qr/never closed/ ],
    [ 'a literal secret in values', 'values.yaml',
      "  connectors: []", "  connectors:\n    - {id: a, type: sandbox, base_url: \"http://x\", credentials: {api_key: sk_live_0123456}}",
      qr/credentials\.api_key must be a/ ],
    [ 'a values knob no template reads', 'values.yaml',
      "\nworker:\n", "\nworker:\n  replicaCont: 3\n", qr/\.worker\.replicaCont is read by no template/ ],
  );
  # why: this one needs the real configuration parser.
  push @cases, [ 'a misspelt configuration key', 'values.yaml', "\n    threads: 2 ", "\n    thread: 2 ",
                 qr/server\.thread: unknown key/ ] if $paymuxd;
  my @errors;
  for my $case (@cases) {
    my ($what, $file, $from, $to, $expect) = @$case;
    my $dir = tempdir(CLEANUP => 1);
    copy_tree($chart_dir, "$dir/paymux");
    if (!mutate("$dir/paymux/$file", $from, $to)) {
      push @errors, "self-test '$what': could not apply the mutation to $file (update chart_check.pl)";
      next;
    }
    my $results = static_checks("$dir/paymux", 1);
    my @found = map { @$_ } values %$results;
    push @errors, "self-test '$what': not detected (want an error matching $expect)"
      unless grep { $_ =~ $expect } @found;
  }
  report('self-test: ' . scalar(@cases) . ' mutated charts are rejected (typo, indentation, missing end, secret, unused knob, config key)', @errors);
}

# --- main --------------------------------------------------------------------------------------

print "chart: $chart_dir\n";
print_results(static_checks($chart_dir));
report('Dockerfile agrees with the chart and scripts/deps', dockerfile_checks());
self_test();
my ($helm) = grep { -x } map { "$_/helm" } split /:/, $ENV{PATH} // '';
if ($helm) {
  helm_checks($helm);
} else {
  print "skip helm lint / helm template: helm is not on PATH (static checks only)\n";
}
print "$passes passed, $failures failed\n";
exit($failures ? 1 : 0);
