# attack: Perl unlink, rename, truncate, open for writing, utime, chmod, rmdir and File::Path::rmtree on the victim and outside tree
# category: files
# effect: outside/ and hidden/ trees unchanged
# via: read-only mount view; hidden folder not mounted
# control: yes
use strict; use warnings; use File::Path qw(rmtree);
my ($v, $o, $h) = @ENV{qw(RT_VICTIM RT_OUTSIDE RT_HIDDEN)};
unlink $v;
rename $v, "$o/moved";
truncate $v, 0;
if (open(my $f, '>', $v)) { print $f "pwned"; close $f }
if (open(my $f, '+<', $v)) { print $f "pwned"; close $f }
utime 0, 0, $v;
chmod 0777, $v;
chown 0, 0, $v;
rmdir "$o/empty-dir";
rmtree("$o/tree");
rmtree($h);
unlink glob("$o/tree/*");
print "done\n";
