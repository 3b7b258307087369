.config {"name":"small","device":"generic","clock_mhz":200.0,"p_be":4,"p_bu":4,"be_rams":8,"be_depth":64,"cb_depth":16384,"att_mults":64,"exp_units":8,"ppu_lanes":16,"vm_words":65536,"bw_in":256,"bw_coef":256,"bw_out":256,"format":"fp32","efficiency":0.84999999999999998}
.mem 166400
.model_cycles 0
.tensor input aq f32 @0 [2,300,32]
.tensor input ak f32 @19200 [2,1000,32]
.tensor input av f32 @83200 [2,1000,32]
.tensor output h f32 @147200 [2,300,32]
     0: 00b170001000000000029c0400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=167 ext=0 stride=32 addr=5678  ; ld
     1: 025870001000000000029c0400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=167 ext=0 stride=32 addr=19214  ; ld
     2: 01587000100000258002000400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=19200 stride=32 addr=11022  ; ld
     3: 01d87000100000a28002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=83200 stride=32 addr=15118 sig=att  ; ld
     4: 1f170a3d80801000a7000000162e0849  attns  q=5678 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
     5: 02ff70001000002d8002000400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=23296 stride=32 addr=24558  ; ld
     6: 037f7000100000aa8002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=87296 stride=32 addr=28654 sig=att  ; ld
     7: 1f170a3d80801000a70000004b0e084a  attnm  q=19214 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
     8: 01587000100000358002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=27392 stride=32 addr=11022 wait=att  ; ld
     9: 01d87000100000b28002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=91392 stride=32 addr=15118 sig=att  ; ld
    10: 1f170a3d80801000a7000000162e084a  attnm  q=5678 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    11: 02ff70001000003d8002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=31488 stride=32 addr=24558 wait=att  ; ld
    12: 037f7000100000ba8002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=95488 stride=32 addr=28654 sig=att  ; ld
    13: 1f170a3d80801000a70000004b0e084a  attnm  q=19214 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    14: 01587000100000458002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=35584 stride=32 addr=11022 wait=att  ; ld
    15: 01d87000100000c28002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=99584 stride=32 addr=15118 sig=att  ; ld
    16: 1f170a3d80801000a7000000162e084a  attnm  q=5678 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    17: 02ff70001000004d8002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=39680 stride=32 addr=24558 wait=att  ; ld
    18: 037f7000100000ca8002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=103680 stride=32 addr=28654 sig=att  ; ld
    19: 1f170a3d80801000a70000004b0e084a  attnm  q=19214 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    20: 01587000100000558002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=43776 stride=32 addr=11022 wait=att  ; ld
    21: 01d87000100000d28002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=107776 stride=32 addr=15118 sig=att  ; ld
    22: 1f170a3d80801000a7000000162e004a  attnm  q=5678 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld  ; att
    23: 02ff70001000005d8001a00400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=104 ext=47872 stride=32 addr=24558 wait=att  ; ld
    24: 03677000100000da8001a00400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=104 ext=111872 stride=32 addr=27886 sig=att  ; ld
    25: 1f170a3d80800d00a70000004b0e804a  attnm  q=19214 o=0 s=167 t=104 dh=32 scale=0.170000002 wait=ld sig=st  ; att
    26: 000000001000011f80029c0400022108  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=167 ext=147200 stride=32 addr=0 wait=att sig=att  ; st
    27: 048d50001000000a7002140400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=133 ext=5344 stride=32 addr=37290  ; ld
    28: 061250001000000a7002140400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=133 ext=5344 stride=32 addr=49738  ; ld
    29: 05125000100000258002000400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=19200 stride=32 addr=41546  ; ld
    30: 05925000100000a28002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=83200 stride=32 addr=45642 sig=att  ; ld
    31: 1f170a3d808010008508000091aa0849  attns  q=37290 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    32: 069750001000002d8002000400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=23296 stride=32 addr=53994  ; ld
    33: 07175000100000aa8002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=87296 stride=32 addr=58090 sig=att  ; ld
    34: 1f170a3d8080100085080000c24a084a  attnm  q=49738 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    35: 05125000100000358002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=27392 stride=32 addr=41546 wait=att  ; ld
    36: 05925000100000b28002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=91392 stride=32 addr=45642 sig=att  ; ld
    37: 1f170a3d808010008508000091aa084a  attnm  q=37290 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    38: 069750001000003d8002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=31488 stride=32 addr=53994 wait=att  ; ld
    39: 07175000100000ba8002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=95488 stride=32 addr=58090 sig=att  ; ld
    40: 1f170a3d8080100085080000c24a084a  attnm  q=49738 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    41: 05125000100000458002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=35584 stride=32 addr=41546 wait=att  ; ld
    42: 05925000100000c28002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=99584 stride=32 addr=45642 sig=att  ; ld
    43: 1f170a3d808010008508000091aa084a  attnm  q=37290 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    44: 069750001000004d8002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=39680 stride=32 addr=53994 wait=att  ; ld
    45: 07175000100000ca8002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=103680 stride=32 addr=58090 sig=att  ; ld
    46: 1f170a3d8080100085080000c24a084a  attnm  q=49738 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    47: 05125000100000558002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=43776 stride=32 addr=41546 wait=att  ; ld
    48: 05925000100000d28002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=107776 stride=32 addr=45642 sig=att  ; ld
    49: 1f170a3d808010008508000091aa004a  attnm  q=37290 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld  ; att
    50: 069750001000005d8001a00400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=104 ext=47872 stride=32 addr=53994 wait=att  ; ld
    51: 06ff5000100000da8001a00400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=104 ext=111872 stride=32 addr=57322 sig=att  ; ld
    52: 1f170a3d80800d0085080000c24a804a  attnm  q=49738 o=32768 s=133 t=104 dh=32 scale=0.170000002 wait=ld sig=st  ; att
    53: 0400000010000129f002140400022108  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=133 ext=152544 stride=32 addr=32768 wait=att sig=att  ; st
    54: 00b1700010000012c0029c0400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=167 ext=9600 stride=32 addr=5678  ; ld
    55: 0258700010000012c0029c0400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=167 ext=9600 stride=32 addr=19214  ; ld
    56: 01587000100000640002000400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=51200 stride=32 addr=11022  ; ld
    57: 01d87000100000e10002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=115200 stride=32 addr=15118 sig=att  ; ld
    58: 1f170a3d80801000a7000000162e0c49  attns  q=5678 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld|st sig=ld  ; att
    59: 02ff70001000006c0002000400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=55296 stride=32 addr=24558  ; ld
    60: 037f7000100000e90002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=119296 stride=32 addr=28654 sig=att  ; ld
    61: 1f170a3d80801000a70000004b0e084a  attnm  q=19214 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    62: 01587000100000740002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=59392 stride=32 addr=11022 wait=att  ; ld
    63: 01d87000100000f10002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=123392 stride=32 addr=15118 sig=att  ; ld
    64: 1f170a3d80801000a7000000162e084a  attnm  q=5678 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    65: 02ff70001000007c0002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=63488 stride=32 addr=24558 wait=att  ; ld
    66: 037f7000100000f90002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=127488 stride=32 addr=28654 sig=att  ; ld
    67: 1f170a3d80801000a70000004b0e084a  attnm  q=19214 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    68: 01587000100000840002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=67584 stride=32 addr=11022 wait=att  ; ld
    69: 01d87000100001010002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=131584 stride=32 addr=15118 sig=att  ; ld
    70: 1f170a3d80801000a7000000162e084a  attnm  q=5678 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    71: 02ff70001000008c0002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=71680 stride=32 addr=24558 wait=att  ; ld
    72: 037f7000100001090002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=135680 stride=32 addr=28654 sig=att  ; ld
    73: 1f170a3d80801000a70000004b0e084a  attnm  q=19214 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    74: 01587000100000940002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=75776 stride=32 addr=11022 wait=att  ; ld
    75: 01d87000100001110002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=139776 stride=32 addr=15118 sig=att  ; ld
    76: 1f170a3d80801000a7000000162e004a  attnm  q=5678 o=0 s=167 t=128 dh=32 scale=0.170000002 wait=ld  ; att
    77: 02ff70001000009c0001a00400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=104 ext=79872 stride=32 addr=24558 wait=att  ; ld
    78: 03677000100001190001a00400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=104 ext=143872 stride=32 addr=27886 sig=att  ; ld
    79: 1f170a3d80800d00a70000004b0e804a  attnm  q=19214 o=0 s=167 t=104 dh=32 scale=0.170000002 wait=ld sig=st  ; att
    80: 000000001000013240029c0400020108  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=167 ext=156800 stride=32 addr=0 wait=att  ; st
    81: 048d50001000001d3002140400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=133 ext=14944 stride=32 addr=37290  ; ld
    82: 061250001000001d3002140400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=133 ext=14944 stride=32 addr=49738  ; ld
    83: 05125000100000640002000400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=51200 stride=32 addr=41546  ; ld
    84: 05925000100000e10002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=115200 stride=32 addr=45642 sig=att  ; ld
    85: 1f170a3d808010008508000091aa0c49  attns  q=37290 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld|st sig=ld  ; att
    86: 069750001000006c0002000400020000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=55296 stride=32 addr=53994  ; ld
    87: 07175000100000e90002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=119296 stride=32 addr=58090 sig=att  ; ld
    88: 1f170a3d8080100085080000c24a084a  attnm  q=49738 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    89: 05125000100000740002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=59392 stride=32 addr=41546 wait=att  ; ld
    90: 05925000100000f10002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=123392 stride=32 addr=45642 sig=att  ; ld
    91: 1f170a3d808010008508000091aa084a  attnm  q=37290 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    92: 069750001000007c0002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=63488 stride=32 addr=53994 wait=att  ; ld
    93: 07175000100000f90002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=127488 stride=32 addr=58090 sig=att  ; ld
    94: 1f170a3d8080100085080000c24a084a  attnm  q=49738 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    95: 05125000100000840002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=67584 stride=32 addr=41546 wait=att  ; ld
    96: 05925000100001010002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=131584 stride=32 addr=45642 sig=att  ; ld
    97: 1f170a3d808010008508000091aa084a  attnm  q=37290 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
    98: 069750001000008c0002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=71680 stride=32 addr=53994 wait=att  ; ld
    99: 07175000100001090002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=135680 stride=32 addr=58090 sig=att  ; ld
   100: 1f170a3d8080100085080000c24a084a  attnm  q=49738 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld sig=ld  ; att
   101: 05125000100000940002000400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=75776 stride=32 addr=41546 wait=att  ; ld
   102: 05925000100001110002000400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=128 ext=139776 stride=32 addr=45642 sig=att  ; ld
   103: 1f170a3d808010008508000091aa004a  attnm  q=37290 o=32768 s=133 t=128 dh=32 scale=0.170000002 wait=ld  ; att
   104: 069750001000009c0001a00400020100  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=104 ext=79872 stride=32 addr=53994 wait=att  ; ld
   105: 06ff5000100001190001a00400022000  ld     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=104 ext=143872 stride=32 addr=57322 sig=att  ; ld
   106: 1f170a3d80800d0085080000c24a804a  attnm  q=49738 o=32768 s=133 t=104 dh=32 scale=0.170000002 wait=ld sig=st  ; att
   107: 040000001000013cb002140400020108  st     buf=2 cplx=0 trans=0 brev=0 bank=0 ne=0 len=32 rows=133 ext=162144 stride=32 addr=32768 wait=att  ; st
