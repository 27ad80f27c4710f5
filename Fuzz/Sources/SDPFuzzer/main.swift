import SIPFuzzSupport

runLibFuzzer(fuzz)
